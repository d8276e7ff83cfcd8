// test_graphql.py's reference check with graphql-js (the `graphql` package, package.json).
//   node check.js introspection-query    prints graphql-js's getIntrospectionQuery()
//   node check.js validate < in.json     in: {"introspection": <the gateway's answer's data>,
//                                          "queries": [text, ...]}; prints a JSON array with,
//                                          per query, its parse or validation errors
//                                          ([{message, locations}], [] when valid)
// buildClientSchema throws when the introspection answer is not a valid schema: exit 1.
'use strict';
const g = require('graphql');

function errs(list) {
  return list.map((e) => ({ message: e.message, locations: e.locations || [] }));
}

if (process.argv[2] === 'introspection-query') {
  process.stdout.write(g.getIntrospectionQuery({ descriptions: true, specifiedByUrl: true,
    directiveIsRepeatable: true, schemaDescription: true, inputValueDeprecation: true }));
} else if (process.argv[2] === 'validate') {
  const input = JSON.parse(require('fs').readFileSync(0, 'utf8'));
  const schema = g.buildClientSchema(input.introspection);
  const out = input.queries.map((q) => {
    let doc;
    try {
      doc = g.parse(q);
    } catch (e) {
      return errs([e]);
    }
    return errs(g.validate(schema, doc));
  });
  out.push({ sdl: g.printSchema(schema) });
  process.stdout.write(JSON.stringify(out));
} else {
  process.stderr.write('usage: node check.js introspection-query | validate\n');
  process.exit(2);
}
