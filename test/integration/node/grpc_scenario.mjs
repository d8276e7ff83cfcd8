// test_grpc_js.py's scenario: the official @qdrant/js-client-grpc (connect-es over HTTP/2)
// creates a collection, upserts points, searches, counts and deletes it through the address in
// argv[2] ("http://127.0.0.1:PORT"). Prints one JSON line with what it saw; exits 1 on error.
import {QdrantClient} from '@qdrant/js-client-grpc';

const url = process.argv[2];
const name = process.argv[3] || 'js_grpc';
const client = new QdrantClient({url, checkCompatibility: false});
const out = {};
try {
    const cols = client.api('collections');
    const points = client.api('points');
    const created = await cols.create({
        collectionName: name,
        vectorsConfig: {config: {case: 'params', value: {size: 4n, distance: 1 /* Cosine */}}},
    });
    out.created = created.result;
    const vec = (d) => ({vectorsOptions: {case: 'vector', value: {vector: {case: 'dense', value: {data: d}}}}});
    const up = await points.upsert({
        collectionName: name,
        wait: true,
        points: [
            {id: {pointIdOptions: {case: 'num', value: 1n}}, vectors: vec([1, 0, 0, 0]), payload: {}},
            {id: {pointIdOptions: {case: 'num', value: 2n}}, vectors: vec([0, 1, 0, 0]), payload: {}},
        ],
    });
    out.upsert = up.result.status;
    const s = await points.search({collectionName: name, vector: [1, 0, 0, 0], limit: 2n});
    out.search = s.result.map((h) => Number(h.id.pointIdOptions.value));
    const c = await points.count({collectionName: name, exact: true});
    out.count = Number(c.result.count);
    const list = await cols.list({});
    out.listed = list.collections.some((x) => x.name === name);
    const del = await cols.delete({collectionName: name});
    out.deleted = del.result;
    console.log(JSON.stringify(out));
} catch (err) {
    console.log(JSON.stringify({error: String(err), code: err.code, partial: out}));
    process.exit(1);
}
