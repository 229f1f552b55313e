#!/usr/bin/env python3
"""The AF_XDP mode end to end: two network namespaces this test creates (exact, unique names)
joined by a veth pair, dnslb --xdp on the server end, queries from the client end.

UDP to the listen addresses goes through the XDP program and the AF_XDP socket, TCP through
the kernel's sockets. The answers over XDP must be byte-identical to the socket path's (the
same server, asked over UDP on the server namespace's loopback); a datagram with a wrong UDP
checksum gets no answer; ARP/ND and TCP keep working; the program is detached when dnslb
exits, and one left by a killed process is replaced at the next start.

Exit 77 (skipped) when the build has no AF_XDP support, when not root or when the kernel has
no AF_XDP sockets. The namespaces are deleted in every case.

Usage: xdp_test.py DNSLB ZONES_DIR enabled|disabled
       xdp_test.py --query ADDR PORT udp|tcp HEX   (inside a namespace: prints the answer)
       xdp_test.py --raw DEV HEX                   (inside a namespace: sends one frame)
"""
import os
import signal
import socket
import struct
import subprocess
import sys
import time

SKIP = 77
TAG = f"{os.getpid() % 100000}"
NS_SRV, NS_CLI = f"dnslb-xdpt-s{TAG}", f"dnslb-xdpt-c{TAG}"
DEV_SRV, DEV_CLI = f"xdpt-s{TAG}", f"xdpt-c{TAG}"
MAC_SRV, MAC_CLI = "02:00:c6:12:01:01", "02:00:c6:12:01:02"
V4_SRV, V4_CLI = "198.18.1.1", "198.18.1.2"  # RFC 2544 benchmarking range
V6_SRV, V6_CLI = "fd00:5eed::1", "fd00:5eed::2"
LOOP_PORT = 5300
failures = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what, flush=True)
    if not cond:
        failures.append(what)


def query_bytes(qid, name, qtype, edns=True):
    q = struct.pack(">HHHHHH", qid, 0, 1, 0, 0, 1 if edns else 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\0" + struct.pack(">HH", qtype, 1)
    if edns:
        q += b"\0" + struct.pack(">HHIH", 41, 1232, 0, 0)
    return q


def do_query(addr, port, proto, data, timeout=2.0):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    if proto == "udp":
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.settimeout(timeout)
        s.sendto(data, (addr, port))
        try:
            return s.recv(65535)
        except socket.timeout:
            return b""
    s = socket.create_connection((addr, port), timeout=timeout)
    s.sendall(struct.pack(">H", len(data)) + data)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
        chunk = s.recv(65535)
        if not chunk:
            break
        buf += chunk
    return buf[2:]


def sh(argv, check_rc=True):
    r = subprocess.run(argv, capture_output=True, text=True)
    if check_rc and r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r.stdout


def ns(name, argv, check_rc=True):
    return sh(["ip", "netns", "exec", name] + argv, check_rc)


def ask(ns_name, addr, port, proto, data):
    out = ns(ns_name, [sys.executable, os.path.abspath(__file__), "--query", addr, str(port),
                       proto, data.hex()])
    return bytes.fromhex(out.strip())


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f">{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return s


def bad_checksum_frame(payload):
    """An Ethernet frame from the client to the server's port 53 with a wrong UDP checksum."""
    src, dst = socket.inet_aton(V4_CLI), socket.inet_aton(V4_SRV)
    udp_len = 8 + len(payload)
    ip = struct.pack(">BBHHHBBH4s4s", 0x45, 0, 20 + udp_len, 1, 0, 64, 17, 0, src, dst)
    ip = ip[:10] + struct.pack(">H", 0xFFFF - csum(ip)) + ip[12:]
    pseudo = src + dst + struct.pack(">BBH", 0, 17, udp_len)
    udp = struct.pack(">HHHH", 40000, 53, udp_len, 0) + payload
    good = 0xFFFF - csum(pseudo + udp)
    udp = udp[:6] + struct.pack(">H", (good ^ 0x5A5A) or 1) + udp[8:]
    eth = bytes.fromhex(MAC_SRV.replace(":", "")) + bytes.fromhex(MAC_CLI.replace(":", ""))
    return eth + b"\x08\x00" + ip + udp


def setup():
    sh(["ip", "netns", "add", NS_SRV])
    sh(["ip", "netns", "add", NS_CLI])
    sh(["ip", "link", "add", DEV_SRV, "netns", NS_SRV, "address", MAC_SRV, "type", "veth",
        "peer", "name", DEV_CLI, "netns", NS_CLI, "address", MAC_CLI])
    for name, dev, v4, v6, peer4, peer6, peer_mac in (
            (NS_SRV, DEV_SRV, V4_SRV, V6_SRV, V4_CLI, V6_CLI, MAC_CLI),
            (NS_CLI, DEV_CLI, V4_CLI, V6_CLI, V4_SRV, V6_SRV, MAC_SRV)):
        ns(name, ["ip", "link", "set", "lo", "up"])
        ns(name, ["ip", "addr", "add", v4 + "/30", "dev", dev])
        ns(name, ["ip", "addr", "add", v6 + "/64", "dev", dev, "nodad"])
        ns(name, ["ip", "link", "set", dev, "up"])
        for peer in (peer4, peer6):
            ns(name, ["ip", "neigh", "replace", peer, "lladdr", peer_mac, "dev", dev,
                      "nud", "permanent"])
        # veth leaves checksums to an offload that does not exist on an AF_XDP socket: the
        # datagrams would arrive with partial checksums.
        ns(name, ["ethtool", "-K", dev, "tx", "off"], check_rc=False)


def teardown():
    for name in (NS_SRV, NS_CLI):
        r = subprocess.run(["ip", "netns", "pids", name], capture_output=True, text=True)
        for pid in r.stdout.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


class Dnslb:
    def __init__(self, dnslb, zones, log):
        self.log = log
        self.p = subprocess.Popen(
            ["ip", "netns", "exec", NS_SRV, dnslb, "serve", "--zones", zones, "--workers", "1",
             "--listen", f"{V4_SRV}:53", "--listen", f"[{V6_SRV}]:53", "--listen",
             f"127.0.0.1:{LOOP_PORT}", "--xdp", DEV_SRV],
            stderr=open(log, "w"), stdout=subprocess.DEVNULL)

    def ready(self, timeout=20):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.p.poll() is not None:
                return False
            if "serving" in self.stderr():
                return True
            time.sleep(0.1)
        return False

    def stderr(self):
        with open(self.log) as f:
            return f.read()

    def stop(self, sig=signal.SIGTERM):
        self.p.send_signal(sig)
        try:
            return self.p.wait(10)
        except subprocess.TimeoutExpired:
            self.p.kill()
            return self.p.wait()


def xdp_attached():
    return "prog/xdp" in ns(NS_SRV, ["ip", "link", "show", "dev", DEV_SRV])


def run(dnslb, zones):
    setup()
    log = f"/tmp/dnslb-xdp-test-{TAG}.log"
    srv = Dnslb(dnslb, zones, log)
    if not srv.ready():
        err = srv.stderr()
        srv.stop()
        print(err)
        if "Operation not supported" in err or "Address family not supported" in err:
            print("skip: no AF_XDP on this interface or kernel")
            return SKIP
        check(False, "dnslb --xdp starts")
        return 1
    check("via AF_XDP" in srv.stderr(), "the log names the AF_XDP mode")
    check(xdp_attached(), "the XDP program is attached while dnslb runs")

    cases = [("www.test.example", 1, True), ("test.example", 6, True), ("test.example", 2, True),
             ("nope.test.example", 1, True), ("mail.test.example", 15, False),
             ("alias1.test.example", 1, True), ("x.tenant.test.example", 1, True),
             ("www.sub.test.example", 1, True), ("child.test.example", 1, True),
             ("big.test.example", 16, True), ("huge.test.example", 16, False),
             ("outside.example", 1, True), ("test.example", 255, True)]
    for i, (name, qtype, edns) in enumerate(cases):
        q = query_bytes(0x1000 + i, name, qtype, edns)
        ref = ask(NS_SRV, "127.0.0.1", LOOP_PORT, "udp", q)
        check(len(ref) > 12, f"socket path answers {name}/{qtype}")
        for addr in (V4_SRV, V6_SRV):
            got = ask(NS_CLI, addr, 53, "udp", q)
            check(got == ref, f"XDP answer to {name}/{qtype} from {addr} is byte-identical")
    tcp = ask(NS_CLI, V4_SRV, 53, "tcp", query_bytes(7, "www.test.example", 1))
    check(len(tcp) > 12 and tcp[:2] == b"\0\x07", "TCP (kernel sockets) still answers")
    # A datagram with a wrong UDP checksum: dropped, no answer (the server answers the next).
    payload = query_bytes(0x4242, "www.test.example", 1)
    out = ns(NS_CLI, [sys.executable, os.path.abspath(__file__), "--raw", DEV_CLI,
                      bad_checksum_frame(payload).hex()]).strip()
    check(out == "none", f"a datagram with a wrong UDP checksum gets no answer ({out})")
    check(ask(NS_CLI, V4_SRV, 53, "udp", payload) != b"", "answers after the bad datagram")
    # ARP passes to the kernel: without the static entry, the client has to resolve the server.
    ns(NS_CLI, ["ip", "neigh", "del", V4_SRV, "dev", DEV_CLI])
    got = ask(NS_CLI, V4_SRV, 53, "udp", query_bytes(8, "www.test.example", 1))
    check(len(got) > 12, "answers once ARP (kernel path) has resolved the server")
    code = srv.stop()
    check(code == 0, f"dnslb stops cleanly (exit {code})")
    check(not xdp_attached(), "the XDP program is detached on exit")

    # A killed process leaves its program attached: the next start replaces it.
    srv = Dnslb(dnslb, zones, log)
    check(srv.ready(), "dnslb --xdp starts again")
    srv.stop(signal.SIGKILL)
    check(xdp_attached(), "a killed dnslb leaves its program attached")
    srv = Dnslb(dnslb, zones, log)
    check(srv.ready(), "the next start succeeds")
    check("replacing the dnslb XDP program" in srv.stderr(), "it replaces the stale program")
    got = ask(NS_CLI, V4_SRV, 53, "udp", query_bytes(9, "www.test.example", 1))
    check(len(got) > 12, "and answers over XDP")
    srv.stop()
    check(not xdp_attached(), "detached again on exit")
    print(f"{len(failures)} failure(s)")
    return 1 if failures else 0


def main():
    if sys.argv[1] == "--query":
        print(do_query(sys.argv[2], int(sys.argv[3]), sys.argv[4],
                       bytes.fromhex(sys.argv[5])).hex())
        return 0
    if sys.argv[1] == "--raw":
        # The frame's source port: an answer would arrive here.
        r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        r.bind((V4_CLI, 40000))
        r.settimeout(1.5)
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.bind((sys.argv[2], 0))
        s.send(bytes.fromhex(sys.argv[3]))
        try:
            r.recv(65535)
            print("answered")
        except socket.timeout:
            print("none")
        return 0
    dnslb, zones, feature = sys.argv[1:4]
    if feature != "enabled":
        print("skip: dnslb built without the xdp feature")
        return SKIP
    if os.geteuid() != 0:
        print("skip: needs root (network namespaces, XDP)")
        return SKIP
    try:
        socket.socket(44, socket.SOCK_RAW).close()  # AF_XDP
    except OSError as e:
        print(f"skip: no AF_XDP sockets ({e})")
        return SKIP
    try:
        return run(dnslb, zones)
    finally:
        teardown()


if __name__ == "__main__":
    sys.exit(main())
