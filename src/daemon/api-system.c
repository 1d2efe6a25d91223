/* System endpoints: /_ping (GET and HEAD), /version and /info in the shapes
 * the docker CLI, docker-compose and docker-py read (trace 01). */
#include "build-info.h" /* generated: BERTH_GIT_COMMIT, BERTH_BUILD_TIME */
#include "daemon/api-internal.h"
#include "daemon/container.h"
#include "daemon/daemon-internal.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

unsigned api_system_image_count (struct berthd *d); /* api-images.c */

static void
handle_ping (struct api_request *req)
{
  /* docker answers the ping with no-cache headers and the builder version
   * the CLI uses to pick the classic builder (1) or BuildKit (2). */
  api_response_header (req, "Cache-Control", "no-cache, no-store, must-revalidate");
  api_response_header (req, "Pragma", "no-cache");
  api_response_header (req, "Builder-Version", "1");
  api_respond_data (req, 200, "text/plain; charset=utf-8", "OK", 2);
}

/* GOARCH names, which clients expect in Arch. */
static const char *
go_arch (const char *machine)
{
  if (strcmp (machine, "x86_64") == 0)
    return "amd64";
  if (strcmp (machine, "aarch64") == 0)
    return "arm64";
  if (strncmp (machine, "armv7", 5) == 0)
    return "arm";
  if (strcmp (machine, "i686") == 0 || strcmp (machine, "i386") == 0)
    return "386";
  return machine;
}

static const char compiler[] = "C17 (gcc " __VERSION__ ")";

static void
handle_version (struct api_request *req)
{
  struct utsname u;
  uname (&u);
  const char *arch = go_arch (u.machine);
  json_t *details = json_pack ("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s}", "ApiVersion", API_VERSION_MAX,
                               "Arch", arch, "BuildTime", BERTH_BUILD_TIME, "Experimental", "false",
                               "GitCommit", BERTH_GIT_COMMIT, "GoVersion", compiler,
                               "KernelVersion", u.release, "MinAPIVersion", API_VERSION_MIN);
  json_object_set_new (details, "Os", json_string ("linux"));
  json_t *v = json_object ();
  json_object_set_new (v, "Platform", json_pack ("{s:s}", "Name", "berth"));
  /* the runtime containers ask for as "runc" is berth's, built with it */
  json_object_set_new (v, "Components",
                       json_pack ("[{s:s,s:s,s:o},{s:s,s:s,s:{s:s}}]", "Name", "Engine", "Version",
                                  BERTH_VERSION, "Details", details, "Name", CONTAINER_RUNTIME_NAME,
                                  "Version", BERTH_VERSION, "Details", "GitCommit",
                                  BERTH_GIT_COMMIT));
  json_object_set_new (v, "Version", json_string (BERTH_VERSION));
  json_object_set_new (v, "ApiVersion", json_string (API_VERSION_MAX));
  json_object_set_new (v, "MinAPIVersion", json_string (API_VERSION_MIN));
  json_object_set_new (v, "GitCommit", json_string (BERTH_GIT_COMMIT));
  json_object_set_new (v, "GoVersion", json_string (compiler));
  json_object_set_new (v, "Os", json_string ("linux"));
  json_object_set_new (v, "Arch", json_string (arch));
  json_object_set_new (v, "KernelVersion", json_string (u.release));
  json_object_set_new (v, "BuildTime", json_string (BERTH_BUILD_TIME));
  api_respond_json (req, 200, v);
}

/* PRETTY_NAME and VERSION_ID of /etc/os-release. */
static void
os_release (char **pretty, char **version)
{
  *pretty = NULL;
  *version = NULL;
  _cleanup_fclose_ FILE *f = fopen ("/etc/os-release", "re");
  if (f == NULL)
    f = fopen ("/usr/lib/os-release", "re");
  char line[512];
  while (f && fgets (line, sizeof line, f))
    {
      line[strcspn (line, "\n")] = '\0';
      char **dst = NULL;
      const char *v = NULL;
      if (str_has_prefix (line, "PRETTY_NAME="))
        dst = pretty, v = line + 12;
      else if (str_has_prefix (line, "VERSION_ID="))
        dst = version, v = line + 11;
      if (dst == NULL)
        continue;
      size_t n = strlen (v);
      if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0])
        *dst = strndup (v + 1, n - 2);
      else
        *dst = xstrdup (v);
    }
  if (*pretty == NULL)
    *pretty = xstrdup ("Linux");
  if (*version == NULL)
    *version = xstrdup ("");
}

static bool
cgroup_is_v2 (void)
{
  struct statfs sf;
  return statfs ("/sys/fs/cgroup", &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

static bool
file_is_one (const char *path)
{
  char buf[8] = "";
  _cleanup_fclose_ FILE *f = fopen (path, "re");
  return f && fgets (buf, sizeof buf, f) && buf[0] == '1';
}

static unsigned
count_fds (void)
{
  _cleanup_closedir_ DIR *dir = opendir ("/proc/self/fd");
  unsigned n = 0;
  for (struct dirent *e; dir && (e = readdir (dir));)
    if (e->d_name[0] != '.')
      n++;
  return n;
}

static void
handle_info (struct api_request *req)
{
  struct berthd *d = api_request_daemon (req);
  struct berthd_container_counts cc = { 0 };
  if (d->containers.counts)
    d->containers.counts (d, &cc);
  struct utsname u;
  uname (&u);
  struct sysinfo si;
  sysinfo (&si);
  _cleanup_free_ char *os = NULL, *os_version = NULL;
  os_release (&os, &os_version);
  struct timespec now;
  clock_gettime (CLOCK_REALTIME, &now);
  _cleanup_free_ char *system_time = time_format_rfc3339nano (&now);
  bool v2 = cgroup_is_v2 ();
  char hostname[256] = "";
  gethostname (hostname, sizeof hostname - 1);

  json_t *security = json_pack ("[s]", "name=seccomp,profile=builtin");
  if (v2)
    json_array_append_new (security, json_string ("name=cgroupns"));

  json_t *j = json_object ();
  json_object_set_new (j, "ID", json_string (d->id));
  json_object_set_new (j, "Containers", json_integer (cc.total));
  json_object_set_new (j, "ContainersRunning", json_integer (cc.running));
  json_object_set_new (j, "ContainersPaused", json_integer (cc.paused));
  json_object_set_new (j, "ContainersStopped", json_integer (cc.stopped));
  json_object_set_new (j, "Images", json_integer (api_system_image_count (d)));
  json_object_set_new (j, "Driver", json_string ("overlay2"));
  json_object_set_new (j, "DriverStatus",
                       json_pack ("[[s,s],[s,s],[s,s]]", "Backing Filesystem", "extfs",
                                  "Supports d_type", "true", "Native Overlay Diff", "true"));
  json_object_set_new (j, "Plugins",
                       json_pack ("{s:[s],s:[s,s,s],s:n,s:[s,s,s]}", "Volume", "local", "Network",
                                  "bridge", "host", "null", "Authorization", "Log", "json-file",
                                  "syslog", "none"));
  json_object_set_new (j, "MemoryLimit", json_true ());
  json_object_set_new (j, "SwapLimit", json_boolean (v2 || access ("/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes", F_OK) == 0));
  json_object_set_new (j, "KernelMemory", json_false ());
  json_object_set_new (j, "KernelMemoryTCP", json_false ());
  json_object_set_new (j, "CpuCfsPeriod", json_true ());
  json_object_set_new (j, "CpuCfsQuota", json_true ());
  json_object_set_new (j, "CPUShares", json_true ());
  json_object_set_new (j, "CPUSet", json_true ());
  json_object_set_new (j, "PidsLimit", json_true ());
  json_object_set_new (j, "IPv4Forwarding", json_boolean (file_is_one ("/proc/sys/net/ipv4/ip_forward")));
  json_object_set_new (j, "BridgeNfIptables", json_boolean (file_is_one ("/proc/sys/net/bridge/bridge-nf-call-iptables")));
  json_object_set_new (j, "BridgeNfIp6tables", json_boolean (file_is_one ("/proc/sys/net/bridge/bridge-nf-call-ip6tables")));
  json_object_set_new (j, "Debug", json_boolean (d->config.debug));
  json_object_set_new (j, "NFd", json_integer (count_fds ()));
  json_object_set_new (j, "OomKillDisable", json_boolean (!v2));
  json_object_set_new (j, "NGoroutines", json_integer (1));
  json_object_set_new (j, "SystemTime", json_string (system_time));
  json_object_set_new (j, "LoggingDriver", json_string (d->config.log_driver));
  json_object_set_new (j, "CgroupDriver", json_string ("cgroupfs"));
  json_object_set_new (j, "CgroupVersion", json_string (v2 ? "2" : "1"));
  json_object_set_new (j, "NEventsListener", json_integer (0));
  json_object_set_new (j, "KernelVersion", json_string (u.release));
  json_object_set_new (j, "OperatingSystem", json_string (os));
  json_object_set_new (j, "OSVersion", json_string (os_version));
  json_object_set_new (j, "OSType", json_string ("linux"));
  json_object_set_new (j, "Architecture", json_string (u.machine));
  json_object_set_new (j, "IndexServerAddress", json_string ("https://index.docker.io/v1/"));
  json_object_set_new (
      j, "RegistryConfig",
      json_pack ("{s:[],s:[],s:[s],s:{s:{s:s,s:[],s:b,s:b}},s:[]}",
                 "AllowNondistributableArtifactsCIDRs", "AllowNondistributableArtifactsHostnames",
                 "InsecureRegistryCIDRs", "127.0.0.0/8", "IndexConfigs", "docker.io", "Name",
                 "docker.io", "Mirrors", "Secure", 1, "Official", 1, "Mirrors"));
  json_object_set_new (j, "NCPU", json_integer (sysconf (_SC_NPROCESSORS_ONLN)));
  json_object_set_new (j, "MemTotal", json_integer ((json_int_t) si.totalram * si.mem_unit));
  json_object_set_new (j, "GenericResources", json_null ());
  json_object_set_new (j, "DockerRootDir", json_string (d->config.data_root));
  json_object_set_new (j, "HttpProxy", json_string (getenv ("HTTP_PROXY") ? getenv ("HTTP_PROXY") : ""));
  json_object_set_new (j, "HttpsProxy", json_string (getenv ("HTTPS_PROXY") ? getenv ("HTTPS_PROXY") : ""));
  json_object_set_new (j, "NoProxy", json_string (getenv ("NO_PROXY") ? getenv ("NO_PROXY") : ""));
  json_object_set_new (j, "Name", json_string (hostname));
  json_object_set_new (j, "Labels", json_array ());
  json_object_set_new (j, "ExperimentalBuild", json_false ());
  json_object_set_new (j, "ServerVersion", json_string (BERTH_VERSION));
  /* the one runtime a container can ask for (HostConfig.Runtime) */
  json_object_set_new (
      j, "Runtimes",
      json_pack ("{s:{s:s}}", CONTAINER_RUNTIME_NAME, "path", CONTAINER_RUNTIME_PATH));
  json_object_set_new (j, "DefaultRuntime", json_string (CONTAINER_RUNTIME_NAME));
  json_object_set_new (j, "Swarm",
                       json_pack ("{s:s,s:s,s:s,s:b,s:s,s:n}", "NodeID", "", "NodeAddr", "",
                                  "LocalNodeState", "inactive", "ControlAvailable", 0, "Error", "",
                                  "RemoteManagers"));
  json_object_set_new (j, "LiveRestoreEnabled", json_boolean (d->config.live_restore));
  json_object_set_new (j, "Isolation", json_string (""));
  json_object_set_new (j, "InitBinary", json_string (""));
  json_object_set_new (j, "ContainerdCommit", json_pack ("{s:s,s:s}", "ID", "", "Expected", ""));
  json_object_set_new (
      j, "RuncCommit",
      json_pack ("{s:s,s:s}", "ID", BERTH_GIT_COMMIT, "Expected", BERTH_GIT_COMMIT));
  json_object_set_new (j, "InitCommit", json_pack ("{s:s,s:s}", "ID", "", "Expected", ""));
  json_object_set_new (j, "SecurityOptions", security);
  json_object_set_new (j, "Warnings", json_null ()); /* dockerd: none is null */
  api_respond_json (req, 200, j);
}

static void
system_register (struct berthd *d, struct api_router *r)
{
  (void) d;
  api_route_add (r, "GET", "/_ping", handle_ping, 0);
  api_route_add (r, "HEAD", "/_ping", handle_ping, 0);
  api_route_add (r, "GET", "/version", handle_version, 0);
  api_route_add (r, "GET", "/info", handle_info, 0);
}

BERTHD_MODULE (system_module) = {
  .name = "system",
  .order = 0,
  .register_routes = system_register,
};
