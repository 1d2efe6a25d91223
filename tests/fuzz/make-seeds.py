#!/usr/bin/python3
"""Write the hand-made seed corpora of tests/fuzz/corpus/<target>/ (run once
when seeds change; the files are committed). Sources: realistic documents
as registries, clients and users produce them; the create bodies come from
/work/shared/reference/traces (docker CLI, docker-py, compose); the OCI
config from `runc spec`; the seccomp profile from berth's default one.
Usage: make-seeds.py [--spec config.json] [--seccomp profile.json] [--traces dir]"""
import argparse, gzip, hashlib, io, json, os, struct, tarfile

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, 'corpus')


def put(target, name, data):
    d = os.path.join(OUT, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def sha(b):
    return 'sha256:' + hashlib.sha256(b).hexdigest()


def tar_bytes(entries, fmt=tarfile.PAX_FORMAT):
    """entries: (TarInfo kwargs, data or None)"""
    bio = io.BytesIO()
    with tarfile.open(fileobj=bio, mode='w', format=fmt) as t:
        for kw, data in entries:
            ti = tarfile.TarInfo(kw.pop('name'))
            for k, v in kw.items():
                setattr(ti, k, v)
            if data is not None:
                ti.size = len(data)
                t.addfile(ti, io.BytesIO(data))
            else:
                t.addfile(ti)
    return bio.getvalue()


def F(name, data=b'', mode=0o644, **kw):
    return (dict(name=name, mode=mode, **kw), data)


def D(name, mode=0o755):
    return (dict(name=name, type=tarfile.DIRTYPE, mode=mode), None)


def L(name, target, kind=tarfile.SYMTYPE):
    return (dict(name=name, type=kind, linkname=target, mode=0o777), None)


def seeds_image_reference():
    for i, s in enumerate([
            'busybox', 'busybox:latest', 'docker.io/library/busybox:1.36',
            'library/busybox', '127.0.0.1:5055/team/app:1', 'localhost:5000/x/y/z',
            '[::1]:5000/img@sha256:' + 'a' * 64,
            'ghcr.io/org/tool:v1.2.3@sha256:' + '0123456789abcdef' * 4,
            'linux/arm64/v8', 'UPPER/case', 'a' * 300]):
        put('fuzz-image-reference', '%02d' % i, s)


def seeds_image_manifest():
    cfg = '{"architecture":"amd64","os":"linux","rootfs":{"type":"layers","diff_ids":[]}}'
    d = sha(b'x')
    docker = {"schemaVersion": 2,
              "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
              "config": {"mediaType": "application/vnd.docker.container.image.v1+json",
                         "size": 1469, "digest": d},
              "layers": [{"mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                          "size": 772788, "digest": sha(b'l')}]}
    put('fuzz-image-manifest', 'docker-v2',
        'application/vnd.docker.distribution.manifest.v2+json\n' + json.dumps(docker))
    oci = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "size": 10, "digest": d},
           "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+zstd", "size": 5, "digest": d},
                      {"mediaType": "application/vnd.oci.image.layer.v1.tar", "size": 5, "digest": d,
                       "urls": ["https://example.com/l"]}]}
    put('fuzz-image-manifest', 'oci-manifest', '\n' + json.dumps(oci))
    index = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
             "manifests": [
                 {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": d,
                  "platform": {"os": "linux", "architecture": "amd64"}},
                 {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": d,
                  "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
                 {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": 500, "digest": d,
                  "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}}]}
    put('fuzz-image-manifest', 'oci-index', 'application/vnd.oci.image.index.v1+json\n' + json.dumps(index))
    lst = dict(index, mediaType="application/vnd.docker.distribution.manifest.list.v2+json")
    put('fuzz-image-manifest', 'docker-list', '\n' + json.dumps(lst))
    put('fuzz-image-manifest', 'schema1',
        'application/vnd.docker.distribution.manifest.v1+prettyjws\n{"schemaVersion":1,"name":"x","fsLayers":[]}')
    put('fuzz-image-manifest', 'config', '\n' + cfg)


def seeds_image_config():
    put('fuzz-image-config', 'busybox.json', json.dumps({
        "architecture": "amd64", "os": "linux", "created": "2023-05-19T20:19:28.567262958Z",
        "config": {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                   "Cmd": ["sh"], "Labels": {"a": "b"}, "ExposedPorts": {"80/tcp": {}},
                   "Volumes": {"/data": {}}, "WorkingDir": "/", "User": "1000"},
        "history": [{"created": "2023-05-19T20:19:28.4Z", "created_by": "/bin/sh -c #(nop) CMD [\"sh\"]",
                     "empty_layer": True, "comment": "c", "author": "me"}],
        "rootfs": {"type": "layers", "diff_ids": []}}))
    put('fuzz-image-config', 'arm.json', json.dumps({
        "architecture": "arm", "variant": "v7", "os": "linux", "os.version": "1",
        "created": "2023-05-19T20:19:28+02:00", "author": "x", "docker_version": "24.0",
        "container_config": {"Cmd": ["/bin/sh", "-c", "#(nop)"]},
        "rootfs": {"type": "layers", "diff_ids": []}}))
    put('fuzz-image-config', 'missing-layer.json', json.dumps({
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}))


def layer_tar():
    return tar_bytes([D('bin/'), F('bin/busybox', b'\x7fELF' + b'\0' * 60, 0o755),
                      L('bin/sh', 'busybox'), L('bin/ls', 'bin/busybox', tarfile.LNKTYPE),
                      D('etc/'), F('etc/passwd', b'root:x:0:0:root:/root:/bin/sh\n'),
                      F('etc/.wh.shadow'), D('var/cache/'), F('var/cache/.wh..wh..opq'),
                      F('usr/share/' + 'long/' * 30 + 'name.txt', b'pax long name\n'),
                      (dict(name='dev/null0', type=tarfile.CHRTYPE, devmajor=1, devminor=3, mode=0o666), None),
                      (dict(name='run/fifo', type=tarfile.FIFOTYPE, mode=0o600), None),
                      F('setuid', b'#!/bin/sh\n', 0o4755, uid=1000, gid=1000, uname='u', gname='g')])


def seeds_image_tar():
    put('fuzz-image-tar', 'busybox-like.tar', layer_tar())
    put('fuzz-image-tar', 'gnu-longname.tar',
        tar_bytes([F('d/' + 'x' * 150, b'gnu\n'), L('d/' + 'y' * 120, 'z' * 120)], tarfile.GNU_FORMAT))
    put('fuzz-image-tar', 'ustar.tar', tar_bytes([D('a/'), F('a/b', b'hello\n')], tarfile.USTAR_FORMAT))
    # hostile: climbing out, absolute targets, links then writes through them
    put('fuzz-image-tar', 'escape-dotdot.tar', tar_bytes([F('../escape', b'out\n'), F('a/../../x', b'y')]))
    put('fuzz-image-tar', 'escape-symlink.tar',
        tar_bytes([L('up', '../'), F('up/escaped', b'out\n'), L('abs', '/'), F('abs/tmp/x', b'y')]))
    put('fuzz-image-tar', 'escape-hardlink.tar',
        tar_bytes([L('h', '../sentinel', tarfile.LNKTYPE), L('dir', '..'),
                   L('h2', 'dir/sentinel', tarfile.LNKTYPE), F('h2', b'overwrite\n')]))
    put('fuzz-image-tar', 'whiteouts.tar',
        tar_bytes([F('.wh...'), F('a/.wh..'), F('.wh..wh..opq'), F('b/.wh..wh.plnk/x')]))
    put('fuzz-image-tar', 'truncated.tar', layer_tar()[:1300])


def docker_archive():
    layer = layer_tar()
    diff = sha(layer)
    cfg = json.dumps({"architecture": "amd64", "os": "linux",
                      "config": {"Cmd": ["sh"], "Env": ["PATH=/bin"]},
                      "rootfs": {"type": "layers", "diff_ids": [diff]},
                      "history": [{"created_by": "ADD rootfs"}]}).encode()
    cfg_name = hashlib.sha256(cfg).hexdigest() + '.json'
    manifest = json.dumps([{"Config": cfg_name, "RepoTags": ["fuzz/seed:latest"],
                            "Layers": ["abc/layer.tar"]}]).encode()
    return tar_bytes([F('manifest.json', manifest), F(cfg_name, cfg), D('abc/'),
                      F('abc/layer.tar', layer), F('abc/VERSION', b'1.0'),
                      F('repositories', b'{"fuzz/seed":{"latest":"abc"}}')]), layer, cfg


def seeds_image_load():
    arch, layer, cfg = docker_archive()
    put('fuzz-image-load', 'docker-archive.tar', arch)
    put('fuzz-image-load', 'docker-archive.tar.gz', gzip.compress(arch, 1, mtime=0))
    # OCI layout with one manifest
    lg = layer
    man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                      "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                                 "size": len(cfg), "digest": sha(cfg)},
                      "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                                  "size": len(lg), "digest": sha(lg)}]}).encode()
    index = json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", "size": len(man), "digest": sha(man),
         "annotations": {"io.containerd.image.name": "docker.io/fuzz/oci:1",
                         "org.opencontainers.image.ref.name": "1"}}]}).encode()
    blob = lambda b: 'blobs/sha256/' + hashlib.sha256(b).hexdigest()
    put('fuzz-image-load', 'oci-layout.tar',
        tar_bytes([F('oci-layout', b'{"imageLayoutVersion":"1.0.0"}'), F('index.json', index),
                   F(blob(man), man), F(blob(cfg), cfg), F(blob(lg), lg)]))
    # hostile: manifest naming a path outside, symlinked manifest
    put('fuzz-image-load', 'hostile-paths.tar',
        tar_bytes([F('manifest.json', b'[{"Config":"../../etc/passwd","Layers":["/etc/shadow"]}]'),
                   L('link.json', '../../../etc/hostname')]))
    put('fuzz-image-load', 'symlink-manifest.tar',
        tar_bytes([L('manifest.json', 'real.json'),
                   F('real.json', b'[{"Config":"c.json","Layers":[],"RepoTags":["x:y"]}]'),
                   F('c.json', b'{"rootfs":{"type":"layers","diff_ids":[]}}')]))


def seeds_registry():
    for i, s in enumerate([
            'Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/busybox:pull"',
            'Basic realm="Registry Realm"',
            'Bearer realm="http://127.0.0.1:5001/auth",service="reg",error="insufficient_scope",scope="repository:a/b:pull,push"',
            'Basic realm="x", Bearer realm="https://t/token"',
            'Bearer realm="a\\"b",  service=unquoted',
            'eyJ1c2VybmFtZSI6InUiLCJwYXNzd29yZCI6InAiLCJzZXJ2ZXJhZGRyZXNzIjoiMTI3LjAuMC4xOjUwMDAifQ==',
            'eyJpZGVudGl0eXRva2VuIjoidG9rIn0', '{}', 'bytes=0-1023', '0-99']):
        put('fuzz-registry-auth', '%02d' % i, s)
    put('fuzz-registry-credentials', 'auths.json', json.dumps({"auths": {
        "https://index.docker.io/v1/": {"auth": "dXNlcjpwYXNz"},
        "127.0.0.1:5000": {"auth": "YWxpY2U6c2VjcmV0"},
        "http://localhost": {"identitytoken": "refresh"},
        "[::1]:5000": {"username": "u", "password": "p"}}, "credsStore": ""}, indent='\t'))
    put('fuzz-registry-credentials', 'bad-auth.json', '{"auths":{"docker.io":{"auth":"bm9jb2xvbg=="}}}')


def seeds_runtime(spec_path, seccomp_path):
    spec = json.load(open(spec_path)) if spec_path else {"ociVersion": "1.0.2", "root": {"path": "rootfs"},
                                                          "process": {"args": ["sh"], "cwd": "/"}}
    put('fuzz-runtime-spec', 'runc-spec.json', json.dumps(spec, indent=1))
    res = {"memory": {"limit": 104857600, "swap": 209715200, "reservation": 0},
           "cpu": {"shares": 1024, "quota": 50000, "period": 100000, "cpus": "0-1", "mems": "0"},
           "pids": {"limit": 64},
           "blockIO": {"weight": 500, "weightDevice": [{"major": 8, "minor": 0, "weight": 300}],
                       "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
           "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
           "devices": [{"allow": False, "access": "rwm"},
                       {"allow": True, "type": "c", "major": 1, "minor": 3, "access": "rwm"}],
           "unified": {"memory.high": "max"}}
    put('fuzz-cgroup-resources', 'resources.json', json.dumps(res))
    put('fuzz-cgroup-resources', 'empty.json', '{}')
    seccomp = json.load(open(seccomp_path)) if seccomp_path else {"defaultAction": "SCMP_ACT_ALLOW"}
    put('fuzz-runtime-seccomp', 'berth-default.json', json.dumps(seccomp))
    put('fuzz-runtime-seccomp', 'args.json', json.dumps({
        "defaultAction": "SCMP_ACT_ERRNO", "defaultErrnoRet": 1,
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86"], "flags": ["SECCOMP_FILTER_FLAG_LOG"],
        "listenerPath": "/run/l.sock",
        "syscalls": [{"names": ["personality"], "action": "SCMP_ACT_ALLOW",
                      "args": [{"index": 0, "value": 8, "op": "SCMP_CMP_EQ"},
                               {"index": 1, "value": 255, "valueTwo": 8, "op": "SCMP_CMP_MASKED_EQ"}]},
                     {"names": ["mkdir"], "action": "SCMP_ACT_NOTIFY"},
                     {"names": ["nosuchcall", "read"], "action": "SCMP_ACT_TRACE", "errnoRet": 3}]}))
    full = dict(spec)
    full.setdefault("linux", {})["resources"] = res
    full["linux"]["seccomp"] = {"defaultAction": "SCMP_ACT_ALLOW",
                                "syscalls": [{"names": ["kexec_load"], "action": "SCMP_ACT_ERRNO"}]}
    full["hooks"] = {"prestart": [{"path": "/bin/true", "args": ["true"], "timeout": 5}]}
    full["mounts"].append({"destination": "/data", "type": "bind", "source": "/srv",
                           "options": ["rbind", "ro", "nosuid", "rprivate", "idmap", "size=1m"]})
    put('fuzz-runtime-spec', 'full.json', json.dumps(full))


def dns_query(name, qtype=1, edns=None, qid=0x1234):
    msg = struct.pack('>HHHHHH', qid, 0x0100, 1, 0, 0, 1 if edns else 0)
    for label in name.split('.'):
        msg += bytes([len(label)]) + label.encode()
    msg += b'\0' + struct.pack('>HH', qtype, 1)
    if edns:
        msg += b'\0' + struct.pack('>HHIH', 41, edns, 0, 0)
    return msg


def seeds_network():
    for i, s in enumerate(['8080:80', '80', '127.0.0.1:8000-8010:80/udp', '8000-8002:9000-9002/tcp',
                           '0.0.0.0::53/udp', '[::1]:80:80', '65536:80', '1-65535']):
        put('fuzz-network-portspec', '%02d' % i, s)
    put('fuzz-network-portspec', 'api.json', json.dumps({
        "PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}],
                         "53/udp": [{"HostIp": "127.0.0.1", "HostPort": ""}],
                         "9000/tcp": [{"HostPort": "8000-8010"}]},
        "ExposedPorts": {"443/tcp": {}, "80/tcp": {}}}))
    for i, s in enumerate(['172.18.0.0/16', '10.1.2.3/24', '192.168.0.1', 'base=10.10.0.0/16,size=24',
                           'base=172.80.0.0/12,size=20', '02:42:ac:11:00:02', '0.0.0.0/0', '1.2.3.4/33']):
        put('fuzz-network-addr', '%02d' % i, s)
    put('fuzz-network-dns', 'a-web', dns_query('web.berth-net'))
    put('fuzz-network-dns', 'a-edns', dns_query('db', edns=4096))
    put('fuzz-network-dns', 'aaaa', dns_query('web', qtype=28))
    put('fuzz-network-dns', 'ptr', dns_query('2.0.17.172.in-addr.arpa', qtype=12))
    put('fuzz-network-dns', 'mx-notimp', dns_query('example.com', qtype=15))
    # a name with a (backwards) compression pointer in the additional section
    q = dns_query('web')
    put('fuzz-network-dns', 'pointer', q[:4] + b'\0\1\0\0\0\0\0\1' + q[12:] + b'\xc0\x0c\0\1\0\1\0\0\0\x3c\0\4\x0a\0\0\1')


def seeds_cli():
    for i, s in enumerate(['{{.State.Status}}', '{{json .Config.Env}}',
                           '{{range $k, $v := .Config.Labels}}{{$k}}={{$v}} {{end}}',
                           '{{if .State.Running}}up{{else if .State.Pid}}odd{{else}}down{{end}}',
                           '{{- with .Mounts}}{{range .}}{{.Source}}:{{.Destination}}{{end}}{{end -}}',
                           '{{index .Ports "80/tcp"}} {{len .Config.Env}} {{upper .Name}}',
                           '{{printf "%s-%5.2f" .Name .Size}} {{join .Config.Env ","}} {{split .Name "/"}}',
                           '{{.Id | printf "%.12s"}} {{eq .State.ExitCode 0}} {{pad .Name 3 3}}',
                           '{{.ID}}\t{{.Names}}\n[{"ID":"1","Names":"web"},{"ID":"2","Names":"db"}]']):
        put('fuzz-cli-template', '%02d' % i, s)
    for i, argv in enumerate([['--rm', 'busybox:local', 'echo', 'hi'],
                              ['-d', '-p', '8080:80', '--name', 'web', '-v', '/srv:/data:ro', '-e', 'A=1',
                               '--restart=on-failure:3', 'busybox', 'sleep', '100'],
                              ['-it', '--mount', 'type=tmpfs,target=/run,tmpfs-size=1m', '--ulimit', 'nofile=1024:2048',
                               '--device', '/dev/null:/dev/x:rw', '--cpus', '1.5', '-m', '64m', '--tmpfs', '/tmp:size=1m',
                               '--network', 'net1', '--dns', '1.1.1.1', '--add-host', 'h:10.0.0.1', 'img', 'sh'],
                              ['--label', 'a=b', '--health-cmd', 'true', '--health-interval', '1s', '-w', '/srv',
                               '--entrypoint', '', '-u', '1000:1000', '--cap-add', 'NET_ADMIN', '--privileged',
                               '--', 'img', '--not-a-flag']]):
        put('fuzz-cli-args', '%02d' % i, '\n'.join(argv))
    for i, s in enumerate(['127.0.0.1:8080:80/tcp', '/host:/ctr:ro,z', './rel:/x',
                           'type=bind,source=/a,target=/b,readonly,bind-propagation=rshared',
                           'nofile=1024:2048', '/dev/sda:/dev/xvda:rwm', 'on-failure:5', '/run:rw,size=64k',
                           'ctrl-p,ctrl-q', 'SIGRTMIN+3', '1.5', '512m', '10GB', '1m30.5s', '2023-01-02T15:04:05Z',
                           'unix:///run/berth.sock', 'tcp://[::1]:2376', 'ssh://user@host:22', 'busybox@sha256:' + 'f' * 64]):
        put('fuzz-cli-opts', '%02d' % i, s)
    put('fuzz-cli-envfile', 'env', '\ufeff# comment\nA=1\n\nexport B = 2\nBERTH_FUZZ_FROM_ENV\nPATH=/bin:/usr/bin\nEMPTY=\n  C=spaces  \n')
    put('fuzz-cli-envfile', 'bad', 'BAD NAME=1\n=novar\n')


def seeds_cli_http():
    """Daemon answers as berthd (libmicrohttpd) and dockerd send them; the
    first byte is the target's mode (bit 0 HEAD, bit 1 hijack, bits 2-3 a
    sink that stops or fails, bits 4-7 the read size)."""
    mhd = 'HTTP/1.1 200 OK\r\nConnection: Keep-Alive\r\nApi-Version: 1.47\r\nServer: Docker/0.1.0 (linux)\r\n'
    answers = [
        (0x00, mhd + 'Content-Type: application/json\r\nContent-Length: 36\r\n\r\n[{"Id":"0123abcd","Names":["/web"]}]'),
        (0x34, mhd + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
               '1f\r\n{"status":"Pulling fs layer"}\n\r\n1a;ext=1\r\n{"stream":"Step 1/3 : X"}\n\r\n0\r\nTrailer: x\r\n\r\n'),
        (0x18, mhd + 'Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n'
               '1d\r\n{"StatusCode":0,"Error":null}\r\n'),
        (0x01, 'HTTP/1.1 200 OK\r\nContent-Length: 1234\r\nX-Docker-Container-Path-Stat: '
               'eyJuYW1lIjoiZXRjIiwic2l6ZSI6NDA5NiwibW9kZSI6MjE0NzQ4NDY1Mn0=\r\n\r\n'),
        (0x02, 'HTTP/1.1 101 UPGRADED\r\nContent-Type: application/vnd.docker.raw-stream\r\n'
               'Connection: Upgrade\r\nUpgrade: tcp\r\n\r\n\x01\x00\x00\x00\x00\x00\x00\x03hi\n'),
        (0x22, 'HTTP/1.1 200 OK\r\nContent-Type: application/vnd.docker.raw-stream\r\n\r\nraw'),
        (0x52, 'HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\nContent-Length: 45\r\n\r\n'
               '{"message":"No such container: 0123456789ab"}'),
        (0x70, 'HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n'),
        (0x90, 'HTTP/1.0 200 OK\r\nContent-Type: application/x-tar\r\n\r\n' + 'tar bytes until the end'),
        (0xf0, 'HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n'),
    ]
    for i, (mode, wire) in enumerate(answers):
        put('fuzz-cli-http', '%02d' % i, bytes([mode]) + wire.encode('latin-1'))


def seeds_daemon(traces):
    for i, (m, p) in enumerate([('GET', '/v1.41/containers/json?all=1'), ('POST', '/v1.43/containers/create'),
                                ('HEAD', '/_ping'), ('DELETE', '/v1.41/images/127.0.0.1:5055/team/app:1'),
                                ('GET', '/images/busybox/json'), ('POST', '/v1.41/containers/abc/attach'),
                                ('GET', '/v1.12/version'), ('GET', '//containers//abc/json/'),
                                ('POST', '/v1.41/exec/4f1/start'), ('GET', '/v9.99/info')]):
        put('fuzz-daemon-router', '%02d' % i, m + '\n' + p)
    for i, s in enumerate(['{"label":{"a=b":true}}', '{"status":["running"],"name":{"web":true}}',
                           '{"dangling":{"true":true}}', '{"until":["10m"],"label!":{"x":true}}',
                           '{"event":["start","die"],"type":{"container":true}}', '', '2023-01-02T15:04:05.123Z',
                           '1700000000.5']):
        put('fuzz-daemon-filters', '%02d' % i, s)
    n = 0
    if traces:
        for fn in sorted(os.listdir(traces)):
            for line in open(os.path.join(traces, fn), errors='replace'):
                line = line.strip()
                if not line.startswith('body: {') or '"HostConfig"' not in line:
                    continue
                body = line[len('body: '):]
                if body.endswith('\\n'):
                    body = body[:-2]
                if body.endswith('…'):
                    body = body[:-1] + '"IPAMConfig":null,"Links":null,"Aliases":null}}}}'
                try:
                    json.loads(body)
                except ValueError:
                    continue
                put('fuzz-daemon-create', '%s-%d' % (fn.split('-')[0], n), body)
                n += 1
                if n >= 6:
                    break
            if n >= 6:
                break
    put('fuzz-daemon-create', 'hostile', json.dumps({
        "Image": "x", "Cmd": "sh", "Env": ["A=1", "=x"], "Healthcheck": {"Test": ["CMD", "true"], "Interval": 1000000},
        "HostConfig": {"PortBindings": {"80/tcp": [{"HostPort": "99999"}]}, "Memory": -1,
                       "Mounts": [{"Type": "bind", "Source": "relative", "Target": "/x"}],
                       "RestartPolicy": {"Name": "on-failure", "MaximumRetryCount": -3},
                       "Ulimits": [{"Name": "nofile", "Soft": 10, "Hard": 5}]}}))


def seeds_build():
    put('fuzz-build-dockerfile', 'Dockerfile', '''# syntax=docker/dockerfile:1
# escape=\\
ARG BASE=busybox:local
FROM ${BASE} AS base
LABEL org.example.version="1.0" description="a \\
  multi-line label"
ENV A=1 B="two words" C=${A:-default}
RUN echo "$A" > /a && \\
    echo done
COPY --chown=1000:1000 --from=base ["/a", "/b/"]
ADD --link http://example.invalid/x /x
RUN <<EOF
echo heredoc
EOF
COPY <<-"END" /etc/motd
	hello
	END
EXPOSE 80/tcp 53/udp 8000-8010
VOLUME ["/data"]
HEALTHCHECK --interval=5s --timeout=3s CMD wget -qO- http://localhost/ || exit 1
ONBUILD RUN echo triggered
USER 1000:1000
WORKDIR /srv/${A}
STOPSIGNAL SIGTERM
SHELL ["/bin/sh", "-c"]
ENTRYPOINT ["/bin/sh", "-c"]
CMD echo ${B:+set} ${UNSET?oops}
''')
    put('fuzz-build-dockerfile', 'backtick', '# escape=`\nFROM scratch\nRUN dir `\n  c:\\\nCOPY . .\n')
    put('fuzz-build-ignore', 'dockerignore', '# comment\n.git\n**/*.o\n!keep.o\n/build\n./tmp/**\n*.[ch]~\nnode_modules\n!node_modules/keep/**\n\\!literal\n')


if __name__ == '__main__':
    ap = argparse.ArgumentParser()
    ap.add_argument('--spec')
    ap.add_argument('--seccomp')
    ap.add_argument('--traces', default='/work/shared/reference/traces')
    a = ap.parse_args()
    seeds_image_reference(); seeds_image_manifest(); seeds_image_config(); seeds_image_tar(); seeds_image_load()
    seeds_registry(); seeds_runtime(a.spec, a.seccomp); seeds_network(); seeds_cli(); seeds_cli_http()
    seeds_daemon(a.traces if os.path.isdir(a.traces) else None); seeds_build()
