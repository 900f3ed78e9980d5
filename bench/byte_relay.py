"""A loopback TCP relay that counts the bytes passing each way: put it between
a client and a server (point the client's endpoint= at it) to measure the
bytes on the wire per event, TLS records and handshakes included (TCP/IP
headers excluded). Used by bench/run.py; also runnable alone:

    python bench/byte_relay.py --upstream 127.0.0.1:PORT   # prints READY port=N, counts on Ctrl-C
"""

import argparse
import socket
import threading


class Relay:
    def __init__(self, upstream, host="127.0.0.1"):
        self.upstream = upstream
        self.sock = socket.create_server((host, 0))
        self.port = self.sock.getsockname()[1]
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.up = self.down = self.connections = self.active = 0
        self._stop = False
        threading.Thread(target=self._accept, daemon=True).start()

    def reset(self):
        with self.lock:
            self.up = self.down = self.connections = 0

    def counts(self, timeout=10):
        """(client->server bytes, server->client bytes, connections) once every
        relayed connection has closed."""
        with self.idle:
            self.idle.wait_for(lambda: self.active == 0, timeout)
            return self.up, self.down, self.connections

    def close(self):
        self._stop = True
        self.sock.close()

    def _accept(self):
        while not self._stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            try:
                s = socket.create_connection(self.upstream)
            except OSError:
                c.close()
                continue
            for x in (c, s):
                x.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            with self.lock:
                self.connections += 1
                self.active += 1
            pair = [c, s, 2]  # both sockets, pumps still running
            threading.Thread(target=self._pump, args=(c, s, "up", pair), daemon=True).start()
            threading.Thread(target=self._pump, args=(s, c, "down", pair), daemon=True).start()

    def _pump(self, src, dst, direction, pair):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                with self.lock:
                    setattr(self, direction, getattr(self, direction) + len(data))
                dst.sendall(data)
        except OSError:
            pass
        try:
            dst.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        with self.idle:
            pair[2] -= 1
            last = pair[2] == 0
            if last:
                self.active -= 1
                self.idle.notify_all()
        if last:
            for x in pair[:2]:
                x.close()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--upstream", required=True, help="host:port to relay to")
    args = ap.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    r = Relay((host, int(port)))
    print("READY port=%d" % r.port, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        up, down, n = r.counts(timeout=1)
        print("connections %d, client->server %d bytes, server->client %d bytes" % (n, up, down))


if __name__ == "__main__":
    main()
