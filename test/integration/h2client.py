# A small raw HTTP/2 client for integration tests, on Debian's python3-h2 (hyper-h2 4.1): many
# streams on one connection, per-stream results, and the frames a well-behaved client would
# never send (resets in bulk, garbage). Plain sockets or an ssl-wrapped one.
import socket
import time

import h2.config
import h2.connection
import h2.events
import h2.exceptions
import h2.settings


class Stream:
    def __init__(self, sid):
        self.id = sid
        self.status = None
        self.headers = {}
        self.body = b""
        self.ended = False
        self.reset_code = None  # RST_STREAM error code when the server reset the stream

    @property
    def done(self):
        return self.ended or self.reset_code is not None


class H2Client:
    """One HTTP/2 connection with prior knowledge (or over an ssl socket that chose h2)."""

    def __init__(self, port, host="127.0.0.1", sock=None, timeout=30, window=1 << 24,
                 byte_by_byte=False):
        self.sock = sock or socket.create_connection((host, port), timeout=timeout)
        self.sock.settimeout(timeout)
        self.conn = h2.connection.H2Connection(
            h2.config.H2Configuration(client_side=True, header_encoding="utf-8",
                                      validate_inbound_headers=False))
        self.conn.initiate_connection()
        if byte_by_byte:  # the preface and SETTINGS one byte per write
            for b in self.conn.data_to_send():
                self.sock.sendall(bytes([b]))
                time.sleep(0.002)
        self.conn.update_settings({h2.settings.SettingCodes.INITIAL_WINDOW_SIZE: window})
        self.conn.increment_flow_control_window(window)
        self.streams = {}
        self.goaway = None  # (error_code, last_stream_id) of the last GOAWAY
        self.server_settings = {}
        self.closed = False
        self.error = None  # a ProtocolError the h2 library raised on the server's frames
        self.flush()

    def flush(self):
        data = self.conn.data_to_send()
        if data:
            self.sock.sendall(data)

    def request(self, method, path, body=None, headers=(), end=True, authority="gw.test"):
        """Opens a stream; body (bytes) is sent respecting flow control by pump()."""
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", "http"),
                (":authority", authority)] + list(headers)
        self.conn.send_headers(sid, hdrs, end_stream=end and body is None)
        st = self.streams[sid] = Stream(sid)
        st.pending = body
        st.end_after = end
        self.flush()
        self._send_bodies()
        return st

    def _send_bodies(self):
        for st in self.streams.values():
            while getattr(st, "pending", None) is not None and not st.done:
                body = st.pending
                try:
                    n = min(len(body), self.conn.local_flow_control_window(st.id),
                            self.conn.max_outbound_frame_size)
                    if n <= 0 and body:
                        break  # window exhausted: wait for WINDOW_UPDATE
                    last = n == len(body)
                    self.conn.send_data(st.id, body[:n], end_stream=last and st.end_after)
                except (h2.exceptions.StreamClosedError, h2.exceptions.ProtocolError):
                    st.pending = None
                    break
                st.pending = None if last else body[n:]
        self.flush()

    def reset(self, st, code=8):
        self.conn.reset_stream(st.id, code)
        self.flush()

    def _handle(self, ev):
        st = self.streams.get(getattr(ev, "stream_id", None))
        if isinstance(ev, h2.events.ResponseReceived):
            st.headers = dict(ev.headers)
            st.status = int(st.headers[":status"])
        elif isinstance(ev, h2.events.DataReceived):
            if st is not None:
                st.body += ev.data
            self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
        elif isinstance(ev, h2.events.StreamEnded):
            if st is not None:
                st.ended = True
        elif isinstance(ev, h2.events.StreamReset):
            if st is not None and not st.ended:
                st.reset_code = ev.error_code
        elif isinstance(ev, h2.events.ConnectionTerminated):
            self.goaway = (ev.error_code, ev.last_stream_id)
        elif isinstance(ev, h2.events.RemoteSettingsChanged):
            for k, v in ev.changed_settings.items():
                self.server_settings[int(k)] = v.new_value

    def pump(self, until, timeout=30.0):
        """Reads and handles frames until until() is true, the server closes, or timeout."""
        deadline = time.monotonic() + timeout
        while not until():
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                break
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except (ConnectionResetError, OSError):
                data = b""
            if not data:
                self.closed = True
                break
            try:
                events = self.conn.receive_data(data)
            except h2.exceptions.ProtocolError as e:
                self.error = e
                self.closed = True
                break
            for ev in events:
                self._handle(ev)
            try:
                self._send_bodies()
            except (BrokenPipeError, ConnectionResetError):
                self.closed = True
        return until()

    def wait(self, streams, timeout=30.0):
        return self.pump(lambda: all(s.done for s in streams), timeout)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def frames(data):
    """Splits raw HTTP/2 bytes into (type, flags, stream_id, payload) tuples."""
    out = []
    while len(data) >= 9:
        n = int.from_bytes(data[:3], "big")
        if len(data) < 9 + n:
            break
        out.append((data[3], data[4], int.from_bytes(data[5:9], "big") & 0x7FFFFFFF,
                    data[9:9 + n]))
        data = data[9 + n:]
    return out


def goaway_codes(data):
    """Error codes of the GOAWAY frames in raw server bytes."""
    return [int.from_bytes(p[4:8], "big") for t, _, _, p in frames(data) if t == 7 and len(p) >= 8]
