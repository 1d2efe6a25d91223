"""What an idle berthd maps (issue 4's memory goal, measured by bench/engine):
the libraries bound on first use (src/common/lazylib.h) stay unloaded until
a request needs them, and the one-off start-up work (the nftables sync, the
socket group's NSS lookup) ran in a short-lived child, so neither
libnftables, libcrypto nor an NSS module is left in berthd."""

ON_DEMAND = ("libarchive.so", "libcurl.so", "libcrypto.so", "libssl.so", "libnftables.so",
             "libzstd.so", "libisal.so", "libxml2.so", "libnss_")


def mapped(pid):
    with open(f"/proc/{pid}/maps") as f:
        text = f.read()
    return sorted(name for name in ON_DEMAND if name in text)


def test_idle_berthd_maps_no_library_it_binds_on_demand(berthd):
    for path in ("/_ping", "/v1.41/version", "/v1.41/info", "/v1.41/images/json",
                 "/v1.41/containers/json?all=1", "/v1.41/networks", "/v1.41/volumes"):
        assert berthd.api("GET", path).status == 200, path
    assert mapped(berthd.proc.pid) == [], "an idle berthd should load these on first use only"
