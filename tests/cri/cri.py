#!/usr/bin/python3
"""A small CRI client for the tests: what kubelet asks of a container
runtime, over gRPC (runtime.v1), one call per command.

    cri.py --sock SOCKET --gen DIR COMMAND ARGS...

DIR holds api_pb2.py and api_pb2_grpc.py, compiled from tests/cri/api.proto
(python3 -m grpc_tools.protoc). Replies are printed as JSON with the
proto's field names (defaults included, int64 as strings), ids as a bare
line. An RPC error prints "cri: METHOD: CODE: DETAILS" and exits 125.

Commands:
  version | status | images
  runp POD.json [HANDLER]          RunPodSandbox; prints the pod id
  inspectp POD_ID                  PodSandboxStatus (verbose)
  pods                             ListPodSandbox
  stopp POD_ID | rmp POD_ID
  create POD_ID CTR.json POD.json  CreateContainer; prints the container id
  start ID | rm ID
  stop [--timeout S] ID            StopContainer, S seconds of grace
  inspect ID                       ContainerStatus (verbose)
  ps [POD_ID]                      ListContainers
  exec-sync [--timeout S] ID CMD...  ExecSync: the command's stdout and
                                   stderr, and its exit code as ours
  exec [--tty] ID CMD...           Exec, then the session on the streaming
                                   server's URL (WebSocket, v4.channel.k8s.io,
                                   as kubectl exec): the command's stdout and
                                   stderr, and its exit code as ours
  exec-url ID CMD...               Exec: prints the streaming URL only
"""
import base64
import json
import os
import socket
import struct
import sys
import urllib.parse

import grpc


def die(msg, code=125):
    sys.stderr.write("cri: %s\n" % msg)
    sys.exit(code)


def stream(url, deadline):
    """The exec session at URL over WebSocket: channel 1 and 2 (stdout,
    stderr) copied to ours, channel 3 the end (a metav1.Status); returns
    the exit code."""
    u = urllib.parse.urlsplit(url)
    s = socket.create_connection((u.hostname, u.port or 80), timeout=deadline)
    key = base64.b64encode(os.urandom(16)).decode()
    path = u.path + ("?" + u.query if u.query else "")
    s.sendall(("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Sec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n" % (path, u.netloc, key)).encode())
    f = s.makefile("rb")
    head = f.readline()
    if b" 101 " not in head:
        die("exec: %s: %s" % (url, head.decode(errors="replace").strip()))
    while f.readline() not in (b"\r\n", b""):
        pass
    out = {1: sys.stdout.buffer, 2: sys.stderr.buffer}
    status = None
    while True:
        h = f.read(2)
        if len(h) < 2:
            break
        op, n = h[0] & 0x0F, h[1] & 0x7F
        if n == 126:
            n = struct.unpack(">H", f.read(2))[0]
        elif n == 127:
            n = struct.unpack(">Q", f.read(8))[0]
        mask = f.read(4) if h[1] & 0x80 else None
        data = f.read(n)
        if mask:
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        if op == 8:   # close
            break
        if op != 2 or len(data) < 2:   # binary frames: channel byte, payload
            continue
        if data[0] in out:
            out[data[0]].write(data[1:])
            out[data[0]].flush()
        elif data[0] == 3:
            status = json.loads(data[1:])
    s.close()
    if status is None:
        die("exec: the stream ended without a status")
    if status.get("status") == "Success":
        return 0
    for cause in status.get("details", {}).get("causes", []):
        if cause.get("reason") == "ExitCode":
            return int(cause["message"])
    die("exec: %s" % status.get("message", status))


def main(argv):
    sock = gen = None
    deadline = 60.0
    while argv and argv[0].startswith("--"):
        opt = argv.pop(0)
        if opt == "--sock":
            sock = argv.pop(0)
        elif opt == "--gen":
            gen = argv.pop(0)
        elif opt == "--deadline":
            deadline = float(argv.pop(0))
        else:
            die("unknown option %s" % opt, 2)
    if not sock or not gen or not argv:
        die("usage: cri.py --sock SOCKET --gen DIR [--deadline S] COMMAND ARGS...", 2)
    sys.path.insert(0, gen)
    import api_pb2 as pb
    import api_pb2_grpc as pbg
    from google.protobuf import json_format

    chan = grpc.insecure_channel("unix://" + sock)
    rt = pbg.RuntimeServiceStub(chan)
    img = pbg.ImageServiceStub(chan)

    def call(method, req):
        try:
            return method(req, timeout=deadline)
        except grpc.RpcError as e:
            die("%s: %s: %s" % (type(req).__name__.replace("Request", ""),
                                e.code().name, e.details()))

    def show(msg):
        d = json_format.MessageToDict(msg, preserving_proto_field_name=True,
                                      including_default_value_fields=True)
        print(json.dumps(d, indent=1, sort_keys=True))

    def load(path, cls):
        with open(path) as f:
            return json_format.Parse(f.read(), cls())

    def grace(args):
        t = 0
        if args and args[0] == "--timeout":
            t = int(args[1])
            args = args[2:]
        return t, args

    cmd, args = argv[0], argv[1:]
    if cmd == "version":
        show(call(rt.Version, pb.VersionRequest(version="v1")))
    elif cmd == "status":
        show(call(rt.Status, pb.StatusRequest(verbose=False)))
    elif cmd == "images":
        show(call(img.ListImages, pb.ListImagesRequest()))
    elif cmd == "runp":
        req = pb.RunPodSandboxRequest(config=load(args[0], pb.PodSandboxConfig),
                                      runtime_handler=args[1] if len(args) > 1 else "")
        print(call(rt.RunPodSandbox, req).pod_sandbox_id)
    elif cmd == "inspectp":
        show(call(rt.PodSandboxStatus, pb.PodSandboxStatusRequest(pod_sandbox_id=args[0], verbose=True)))
    elif cmd == "pods":
        show(call(rt.ListPodSandbox, pb.ListPodSandboxRequest()))
    elif cmd == "stopp":
        call(rt.StopPodSandbox, pb.StopPodSandboxRequest(pod_sandbox_id=args[0]))
    elif cmd == "rmp":
        call(rt.RemovePodSandbox, pb.RemovePodSandboxRequest(pod_sandbox_id=args[0]))
    elif cmd == "create":
        req = pb.CreateContainerRequest(pod_sandbox_id=args[0],
                                        config=load(args[1], pb.ContainerConfig),
                                        sandbox_config=load(args[2], pb.PodSandboxConfig))
        print(call(rt.CreateContainer, req).container_id)
    elif cmd == "start":
        call(rt.StartContainer, pb.StartContainerRequest(container_id=args[0]))
    elif cmd == "stop":
        t, args = grace(args)
        call(rt.StopContainer, pb.StopContainerRequest(container_id=args[0], timeout=t))
    elif cmd == "rm":
        call(rt.RemoveContainer, pb.RemoveContainerRequest(container_id=args[0]))
    elif cmd == "inspect":
        show(call(rt.ContainerStatus, pb.ContainerStatusRequest(container_id=args[0], verbose=True)))
    elif cmd == "ps":
        f = pb.ContainerFilter(pod_sandbox_id=args[0]) if args else None
        show(call(rt.ListContainers, pb.ListContainersRequest(filter=f)))
    elif cmd == "exec-sync":
        t, args = grace(args)
        r = call(rt.ExecSync, pb.ExecSyncRequest(container_id=args[0], cmd=args[1:], timeout=t))
        sys.stdout.buffer.write(r.stdout)
        sys.stderr.buffer.write(r.stderr)
        sys.exit(r.exit_code)
    elif cmd in ("exec", "exec-url"):
        tty = bool(args) and args[0] == "--tty"
        args = args[1:] if tty else args
        r = call(rt.Exec, pb.ExecRequest(container_id=args[0], cmd=args[1:], tty=tty,
                                         stdout=True, stderr=not tty))
        if cmd == "exec-url":
            print(r.url)
        else:
            sys.exit(stream(r.url, deadline))
    else:
        die("unknown command %s" % cmd, 2)


if __name__ == "__main__":
    main(sys.argv[1:])
