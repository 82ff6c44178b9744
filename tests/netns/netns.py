#!/usr/bin/env python3
"""Workers as separate hosts: network namespaces for duraflow's cluster tests.

A NetHost is a network namespace of its own ("dfns-<creator pid>-<n>") with
one veth pair: the namespace end gets an address of its own on the subnet of
the bridge that holds the brokers' address, the host end is a port of that
bridge.  A process started with the argv of NetHost.argv() runs inside the
namespace (ip netns exec execs it: the pid is the program's):
it reaches the brokers through the bridge and nothing else (the namespace
has no default route, the bridge has no uplink).  cut() sets the host end of
the veth down: packets in both directions are dropped, no RST, no error for
the process, which keeps running (a pulled cable, a failed switch port);
restore() sets it up again.

The addressing is the one `scripts/kafka.sh --brokers 3 --bridge start`
sets up: a bridge dfbr0 with 10.77.0.1/24 on the host, the brokers
listening and advertised on 10.77.0.1.  NetHost finds the bridge from the
broker address (the interface that holds it), so any bridge works; a broker
on 127.0.0.1 cannot be reached from a namespace and is refused with a clear
error.

Only what this module made is deleted: its namespaces and veths, tracked in
a list, removed by destroy_all() (registered with atexit; tests call it from
their cleanup too), and namespaces left by a creator that died (the pid in
the name is not alive) by cleanup_stale().  Needs root and `ip` (iproute2).

Command line (for scripts and by hand):
    netns.py check BROKER_ADDR     can a namespace reach BROKER_ADDR's bridge? (exit 0/1)
    netns.py cleanup-stale         delete namespaces of dead creators
    netns.py selftest BROKER_ADDR  make a namespace, connect, cut, restore, delete
"""
import atexit
import ipaddress
import os
import re
import signal
import socket
import subprocess
import sys
import time

NS_PREFIX = "dfns-"
_HOSTS = []  # every NetHost made by this process and not yet destroyed


class NetnsError(Exception):
    pass


def _ip(*args, check=True, ns=None):
    argv = ["ip"] + (["-n", ns] if ns else []) + list(args)
    r = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    if check and r.returncode != 0:
        raise NetnsError("%s: %s" % (" ".join(argv), r.stdout.decode(errors="replace").strip()))
    return r.stdout.decode(errors="replace")


def bridge_of(addr):
    """(device, network) of the local interface holding IPv4 address addr."""
    ip = ipaddress.ip_address(addr)
    if ip.is_loopback:
        raise NetnsError("the brokers listen on %s, a loopback address: a network namespace cannot reach it. "
                         "Start the cluster on a bridge: scripts/kafka.sh --brokers 3 --bridge start" % addr)
    for line in _ip("-o", "-4", "addr", "show").splitlines():
        m = re.match(r"\d+:\s+(\S+)\s+inet\s+(\S+)", line)
        if m and m.group(2).split("/")[0] == addr:
            dev = m.group(1)
            if os.path.isdir("/sys/class/net/%s/bridge" % dev):
                return dev, ipaddress.ip_interface(m.group(2)).network
            raise NetnsError("%s is on %s, which is not a bridge: a namespace's veth cannot join it "
                             "(scripts/kafka.sh --brokers 3 --bridge start makes one)" % (addr, dev))
    raise NetnsError("%s is not an address of this host" % addr)


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
        return True
    except ProcessLookupError:
        return False
    except PermissionError:
        return True


def _namespaces():
    out = _ip("netns", "list", check=False)
    return [l.split()[0] for l in out.splitlines() if l.strip()]


def _used_addresses():
    used = set()
    for ns in _namespaces():
        if ns.startswith(NS_PREFIX):
            for m in re.finditer(r"inet (\d+\.\d+\.\d+\.\d+)/", _ip("-o", "-4", "addr", "show", ns=ns, check=False)):
                used.add(m.group(1))
    return used


def cleanup_stale():
    """Delete dfns-<pid>-* namespaces (and their veths) whose creator is gone."""
    gone = []
    for ns in _namespaces():
        m = re.match(re.escape(NS_PREFIX) + r"(\d+)-(\d+)$", ns)
        if m and not _pid_alive(int(m.group(1))):
            _ip("link", "del", "dfv%s-%s" % (int(m.group(1)) % 100000, m.group(2)), check=False)
            _ip("netns", "del", ns, check=False)
            gone.append(ns)
    return gone


class NetHost:
    """A network namespace with one address on the brokers' bridge."""

    def __init__(self, broker_addr, index):
        self.bridge, self.net = bridge_of(broker_addr)
        self.index = index
        me = os.getpid()
        self.ns = "%s%d-%d" % (NS_PREFIX, me, index)
        self.veth = "dfv%d-%d" % (me % 100000, index)       # host end, a port of the bridge (<= 15 chars)
        self.peer = "dfp%d-%d" % (me % 100000, index)       # namespace end
        if len(self.veth) > 15:
            raise NetnsError("interface name %s too long" % self.veth)
        used = _used_addresses()
        # from the top of the subnet down (the bridge's own address is at the
        # bottom), skipping the addresses of the namespaces that exist
        self.cands = [str(h) for h in reversed(list(self.net.hosts())) if str(h) not in used and str(h) != broker_addr]
        self.addr = None
        self.made = []  # what exists, to undo in reverse order
        _HOSTS.append(self)
        try:
            self._create()
        except Exception:
            self.destroy()
            raise

    def _create(self):
        if self.ns in _namespaces():
            raise NetnsError("namespace %s exists already" % self.ns)
        _ip("netns", "add", self.ns)
        self.made.append("ns")
        _ip("link", "add", self.veth, "type", "veth", "peer", "name", self.peer)
        self.made.append("veth")
        _ip("link", "set", self.peer, "netns", self.ns)
        _ip("link", "set", self.veth, "master", self.bridge)
        _ip("link", "set", self.veth, "up")
        if not self.cands:
            raise NetnsError("no free address on %s" % self.net)
        self.addr = self.cands[0]
        _ip("addr", "add", "%s/%d" % (self.addr, self.net.prefixlen), "dev", self.peer, ns=self.ns)
        _ip("link", "set", "lo", "up", ns=self.ns)
        _ip("link", "set", self.peer, "up", ns=self.ns)

    def argv(self, argv):
        """argv run inside the namespace (ip netns exec execs it: same pid)."""
        return ["ip", "netns", "exec", self.ns] + list(argv)

    def cut(self):
        """Drop every packet between the namespace and the bridge; the process keeps running."""
        _ip("link", "set", self.veth, "down")

    def restore(self, timeout=10.0):
        """Set the link up again and wait (up to timeout s) until both ends
        have carrier and the bridge forwards on its port (the kernel takes
        about a second to report carrier); returns the seconds that took."""
        t0 = time.monotonic()
        _ip("link", "set", self.veth, "up")
        while time.monotonic() - t0 < timeout:
            try:
                with open("/sys/class/net/%s/operstate" % self.veth) as f:
                    host_up = f.read().strip() == "up"
                with open("/sys/class/net/%s/brport/state" % self.veth) as f:
                    forwarding = f.read().strip() == "3"  # BR_STATE_FORWARDING
            except OSError:
                host_up = forwarding = False
            if host_up and forwarding and "LOWER_UP" in _ip("link", "show", self.peer, ns=self.ns, check=False):
                break
            time.sleep(0.05)
        return time.monotonic() - t0

    def is_cut(self):
        """Is the host end of the veth down?"""
        return not re.search(r"<[^>]*\bUP\b", _ip("link", "show", self.veth, check=False))

    def can_connect(self, host, port, timeout=3.0):
        """Does a TCP connection from inside the namespace to host:port succeed?"""
        code = ("import socket,sys\n"
                "try:\n socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=float(sys.argv[3]))\n"
                "except OSError: sys.exit(1)\n")
        r = subprocess.run(self.argv([sys.executable, "-c", code, host, str(port), str(timeout)]),
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=timeout + 10)
        return r.returncode == 0

    def destroy(self):
        """Delete the veth and the namespace (kill the processes inside first)."""
        if "veth" in self.made:
            _ip("link", "del", self.veth, check=False)
        if "ns" in self.made:
            _ip("netns", "del", self.ns, check=False)
        self.made = []
        if self in _HOSTS:
            _HOSTS.remove(self)

    def __repr__(self):
        return "NetHost(%s, %s on %s)" % (self.ns, self.addr, self.bridge)


def destroy_all():
    for h in list(_HOSTS):
        try:
            h.destroy()
        except Exception as e:  # cleanup must go on
            print("netns: cleanup of %s: %s" % (h.ns, e), file=sys.stderr)


atexit.register(destroy_all)


def check_root():
    if os.geteuid() != 0:
        raise NetnsError("network namespaces need root (ip netns add)")
    if subprocess.run(["ip", "-V"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode != 0:
        raise NetnsError("'ip' (iproute2) not found: run scripts/setup.sh")


def _selftest(addr):
    host, _, port = addr.rpartition(":")
    h = NetHost(host, 1)
    print("made %r" % h)
    ok = h.can_connect(host, int(port))
    print("connect from the namespace to %s: %s" % (addr, ok))
    h.cut()
    cut_ok = not h.can_connect(host, int(port), timeout=2)
    print("after cut: unreachable: %s" % cut_ok)
    print("link up again after %.1f s" % h.restore())
    t0 = time.monotonic()
    back = False
    while not back and time.monotonic() - t0 < 10:
        back = h.can_connect(host, int(port), timeout=1)
    print("reachable %.1f s after that" % (time.monotonic() - t0))
    print("after restore: reachable: %s" % back)
    h.destroy()
    left = [n for n in _namespaces() if n == h.ns]
    print("namespace deleted: %s" % (not left))
    return ok and cut_ok and back and not left


def main(argv):
    if len(argv) < 2 or argv[1] in ("-h", "--help"):
        print(__doc__)
        return 0 if len(argv) >= 2 else 2
    try:
        check_root()
        if argv[1] == "check" and len(argv) == 3:
            print("%s is on bridge %s (%s)" % ((argv[2],) + bridge_of(argv[2].rpartition(":")[0] or argv[2])))
            return 0
        if argv[1] == "cleanup-stale":
            for ns in cleanup_stale():
                print("deleted stale namespace %s" % ns)
            return 0
        if argv[1] == "selftest" and len(argv) == 3:
            signal.signal(signal.SIGTERM, lambda *a: sys.exit(1))
            return 0 if _selftest(argv[2]) else 1
    except NetnsError as e:
        print("netns.py: %s" % e, file=sys.stderr)
        return 1
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
