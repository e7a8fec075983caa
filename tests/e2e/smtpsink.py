"""What the relay tests share: a minimal SMTP server that stands in for a
remote MX, a port free on several loopback addresses, and polling.

SmtpSink(addr, port, rcpt_replies, starttls=False) listens on addr:port and
answers EHLO (8BITMIME, no STARTTLS), MAIL, RCPT (replies taken in turn
from rcpt_replies, the last one repeating), DATA and QUIT.  It counts
`sessions`, `mails` (MAIL commands) and `rcpts_seen`, and keeps each
accepted message's data in `messages`.
"""
import socket
import threading
import time

from scoptest import free_port


class SmtpSink:
    def __init__(self, addr, port, rcpt_replies=("250 2.1.5 ok",)):
        self.replies = list(rcpt_replies)
        self.sessions = 0
        self.mails = 0
        self.rcpts_seen = 0
        self.messages = []
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((addr, port))
        self.sock.listen(8)
        self.sock.settimeout(0.2)
        self.running = True
        self.th = threading.Thread(target=self.loop, daemon=True)
        self.th.start()

    def loop(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                continue
            self.sessions += 1
            try:
                self.session(c)
            except OSError:
                pass
            finally:
                c.close()

    def session(self, c):
        c.settimeout(10)
        f = c.makefile("rb")
        c.sendall(b"220 sink ESMTP\r\n")
        for line in f:
            cmd = line[:4].upper()
            if cmd == b"EHLO":
                c.sendall(b"250-sink\r\n250 8BITMIME\r\n")
            elif cmd == b"MAIL":
                self.mails += 1
                c.sendall(b"250 2.1.0 ok\r\n")
            elif cmd == b"RCPT":
                r = self.replies[min(self.rcpts_seen, len(self.replies) - 1)]
                self.rcpts_seen += 1
                c.sendall(r.encode() + b"\r\n")
            elif cmd == b"DATA":
                c.sendall(b"354 go\r\n")
                data = b""
                for dl in f:
                    if dl == b".\r\n":
                        break
                    data += dl
                self.messages.append(data)
                c.sendall(b"250 2.0.0 ok\r\n")
            elif cmd == b"QUIT":
                c.sendall(b"221 bye\r\n")
                return
            else:
                c.sendall(b"502 5.5.2 no\r\n")

    def close(self):
        self.running = False
        self.th.join()
        self.sock.close()


def free_port_on_all(addrs):
    """A TCP port free on every address in addrs."""
    for _ in range(50):
        p = free_port()
        ok = True
        for a in addrs:
            with socket.socket() as s:
                try:
                    s.bind((a, p))
                except OSError:
                    ok = False
        if ok:
            return p
    raise RuntimeError("no port free on all addresses")


def wait_for(cond, timeout=25.0, what="condition"):
    """cond()'s first true value, polled every 0.1 s; TimeoutError after timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = cond()
        if v:
            return v
        time.sleep(0.1)
    raise TimeoutError("timed out waiting for " + what)
