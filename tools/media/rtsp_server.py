#!/usr/bin/python3
"""Test RTSP server for vigil-media (Debian GStreamer RTSP server, loopback only).

Usage: /usr/bin/python3 rtsp_server.py PORT [--rate R] [--auth USER:PASS] [--stall-after S] NAME=FILE[:h265] ...

Serves each FILE (MP4, MOV or Matroska; H.264 by default, H.265 with the :h265 suffix) at
rtsp://127.0.0.1:PORT/NAME.
  --rate R         play R times faster than real time (RTP timestamps stay media time), e.g. 4
  --auth U:P       require credentials (Basic auth)
  --digest-only    with --auth: Digest auth instead of Basic
  --stall-after S  stop sending media S seconds after PLAY but keep the connection open
  --tls PEM        RTSP over TLS (rtsps://) with the certificate and private key in PEM
Prints "READY" on stdout once listening.
"""
import sys
import gi

gi.require_version('Gst', '1.0')
gi.require_version('GstRtsp', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gio, Gst, GstRtsp, GstRtspServer, GLib  # noqa: E402

Gst.init(None)
args = sys.argv[1:]
port = args.pop(0)
rate = 1.0
auth = None
digest_only = False
stall_after = None
tls_pem = None
mounts_spec = []
while args:
    a = args.pop(0)
    if a == '--rate':
        rate = float(args.pop(0))
    elif a == '--auth':
        auth = args.pop(0)
    elif a == '--digest-only':
        digest_only = True
    elif a == '--stall-after':
        stall_after = float(args.pop(0))
    elif a == '--tls':
        tls_pem = args.pop(0)
    else:
        mounts_spec.append(a)

server = GstRtspServer.RTSPServer.new()
server.set_address('127.0.0.1')
server.set_service(port)
mounts = server.get_mount_points()

clock = None
if rate != 1.0:
    # A private clock that runs `rate` times faster than the system clock.
    clock = Gst.SystemClock(clock_type=Gst.ClockType.MONOTONIC)
    internal = clock.get_internal_time()
    clock.set_calibration(internal, internal, int(rate * 1000), 1000)

# Media factories grant access to the role 'user'; anonymous clients get it by default unless
# --auth asks for credentials.
rtsp_auth = None
if auth or tls_pem:
    rtsp_auth = GstRtspServer.RTSPAuth()
    token = GstRtspServer.RTSPToken()
    token.set_string(GstRtspServer.RTSP_TOKEN_MEDIA_FACTORY_ROLE, 'user')
    if auth:
        user, password = auth.split(':', 1)
        if digest_only:
            rtsp_auth.add_digest(user, password, token)
            rtsp_auth.set_supported_methods(GstRtsp.RTSPAuthMethod.DIGEST)
        else:
            rtsp_auth.add_basic(GstRtspServer.RTSPAuth.make_basic(user, password), token)
    else:
        rtsp_auth.set_default_token(token)
    if tls_pem:
        with open(tls_pem) as pem:
            rtsp_auth.set_tls_certificate(Gio.TlsCertificate.new_from_pem(pem.read(), -1))
    server.set_auth(rtsp_auth)


def on_media_configure(_factory, media):
    if stall_after is not None:
        pipeline = media.get_element()

        def stall():
            # Block the payloader's input: no more RTP, the connection stays open.
            pay = pipeline.get_by_name('pay0')
            if pay is not None:
                pay.get_static_pad('sink').add_probe(
                    Gst.PadProbeType.BLOCK_DOWNSTREAM, lambda *a: Gst.PadProbeReturn.OK)
            return False
        GLib.timeout_add(int(stall_after * 1000), stall)


for spec in mounts_spec:
    name, path = spec.split('=', 1)
    codec = 'h264'
    if path.endswith(':h265'):
        path, codec = path[:-5], 'h265'
    demux = 'matroskademux' if path.endswith(('.mkv', '.webm')) else 'qtdemux'
    f = GstRtspServer.RTSPMediaFactory.new()
    f.set_launch(f'( filesrc name=src location="{path}" ! {demux} ! {codec}parse config-interval=-1 '
                 f'! rtp{codec}pay name=pay0 pt=96 config-interval=1 )')
    f.set_shared(False)
    if clock is not None:
        f.set_clock(clock)
    if rtsp_auth:
        perms = GstRtspServer.RTSPPermissions()
        perms.add_permission_for_role('user', GstRtspServer.RTSP_PERM_MEDIA_FACTORY_ACCESS, True)
        perms.add_permission_for_role('user', GstRtspServer.RTSP_PERM_MEDIA_FACTORY_CONSTRUCT, True)
        f.set_permissions(perms)
    f.connect('media-configure', on_media_configure)
    mounts.add_factory('/' + name, f)
    scheme = 'rtsps' if tls_pem else 'rtsp'
    print(f'{scheme}://127.0.0.1:{port}/{name} -> {path}', flush=True)

if server.attach(None) == 0:
    print('cannot listen on port', port, file=sys.stderr, flush=True)
    sys.exit(2)
print('READY', flush=True)
GLib.MainLoop().run()
