"""A small DNS server on loopback UDP for the tests: it answers A questions from a table the test
may change while it runs (AAAA and names it does not know: no address), enough for the gateway's
resolver (evdns) to look upstream names up."""

import socket
import struct
import threading


class DnsServer:
    def __init__(self, names=None):
        self.names = dict(names or {})   # "backend.test" -> "127.0.0.2"
        self.questions = []              # (name, qtype) of every question, in order
        self.lock = threading.Lock()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def set(self, name, ip):
        with self.lock:
            self.names[name] = ip

    def close(self):
        self.stopping = True
        self.sock.close()
        self.thread.join(2)

    def _serve(self):
        while not self.stopping:
            try:
                msg, peer = self.sock.recvfrom(512)
            except OSError:
                return
            try:
                self.sock.sendto(self._answer(msg), peer)
            except (OSError, ValueError, struct.error, IndexError):
                continue

    def _answer(self, msg):
        qid, _flags, qd = struct.unpack("!HHH", msg[:6])
        if qd != 1:
            raise ValueError("one question expected")
        labels, i = [], 12
        while msg[i]:
            labels.append(msg[i + 1:i + 1 + msg[i]].decode("ascii").lower())
            i += 1 + msg[i]
        question = msg[12:i + 5]
        qtype = struct.unpack("!H", msg[i + 1:i + 3])[0]
        name = ".".join(labels)
        with self.lock:
            self.questions.append((name, qtype))
            ip = self.names.get(name)
        answers = b""
        if ip is not None and qtype == 1:
            answers = (b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 1, 4) + socket.inet_aton(ip))
        rcode = 0 if ip is not None else 3  # NXDOMAIN for a name it does not know
        head = struct.pack("!HHHHHH", qid, 0x8180 | rcode, 1, 1 if answers else 0, 0, 0)
        return head + question + answers
