/* berth image store: the public header of src/image. Content-addressed blobs,
 * image references, manifests/indexes/configs, streaming layer unpack with
 * whiteouts, image records and tags, overlay snapshots for containers,
 * save/load/import/export, GC and check. No HTTP here (that is registry/).
 *
 * Thread safety: one process opens a data root at a time (an flock on
 * <root>/lock); inside it every function may be called from any thread
 * (metadata updates are serialized by the store's mutex, layer unpacks run in
 * parallel in their own tmp/ directories). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/common.h"

#define IMAGE_DEFAULT_ROOT "/var/lib/berth"

/* Media types, exactly as registries send them. */
#define IMAGE_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMAGE_MT_DOCKER_MANIFEST_LIST "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMAGE_MT_DOCKER_CONFIG "application/vnd.docker.container.image.v1+json"
#define IMAGE_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMAGE_MT_DOCKER_LAYER_FOREIGN "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"
#define IMAGE_MT_OCI_MANIFEST "application/vnd.oci.image.manifest.v1+json"
#define IMAGE_MT_OCI_INDEX "application/vnd.oci.image.index.v1+json"
#define IMAGE_MT_OCI_CONFIG "application/vnd.oci.image.config.v1+json"
#define IMAGE_MT_OCI_LAYER "application/vnd.oci.image.layer.v1.tar"
#define IMAGE_MT_OCI_LAYER_GZIP "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMAGE_MT_OCI_LAYER_ZSTD "application/vnd.oci.image.layer.v1.tar+zstd"

/* ================================================================ store == */

struct image_store;

struct image_store_options
{
  const char *root;   /* data root; NULL = IMAGE_DEFAULT_ROOT */
  bool wait_for_lock; /* block until another process releases the root,
                         instead of failing with BERTH_E_CONFLICT */
};

/* Open (creating if needed) the store under opts->root: layout
 *   <root>/lock                     flock: one process per data root
 *   <root>/blobs/sha256/<hex>       content-addressed blobs
 *   <root>/layers/<diffid hex>/     diff/ (unpacked tree), meta.json, tree
 *   <root>/images.json              image records + tags (one atomic file)
 *   <root>/snapshots/<id>/          upper/, work/, merged/, meta.json
 *   <root>/tmp/                     in-progress work, swept on open
 *   <root>/partial/<hex>            layer blobs being pulled, kept for a resume
 * Interrupted work (tmp/) from a killed process is removed on open. */
struct image_store *image_store_open (const struct image_store_options *opts,
                                      struct berth_error **err);
void image_store_close (struct image_store *store);
static inline void
image_store_closep (struct image_store **s)
{
  if (*s)
    image_store_close (*s);
  *s = NULL;
}
#define _cleanup_image_store_ _cleanup_ (image_store_closep)
/* The data root path (owned by the store). */
const char *image_store_root (const struct image_store *store);

/* =========================================================== references == */

/* A reference normalized as docker's reference.ParseNormalizedNamed does:
 * "busybox" -> domain "docker.io", path "library/busybox". */
struct image_ref
{
  char *domain; /* "docker.io", "localhost:5000", "[::1]:5000", ... */
  char *path;   /* "library/busybox", "team/app" */
  char *tag;    /* NULL when the reference has none (see IMAGE_REF_DEFAULT_TAG) */
  char *digest; /* "sha256:<hex>" or NULL */
};

enum
{
  IMAGE_REF_DEFAULT_TAG = 1 << 0, /* add ":latest" when neither tag nor digest
                                     (docker's reference.TagNameOnly) */
  IMAGE_REF_NAME_ONLY = 1 << 1,   /* refuse a tag or digest (docker tag's
                                     repository argument, push targets) */
};

/* Parse and normalize. Errors (BERTH_E_INVALID) read like docker's:
 * "invalid reference format: repository name must be lowercase". */
int image_ref_parse (const char *s, unsigned flags, struct image_ref **out,
                     struct berth_error **err);
void image_ref_free (struct image_ref *ref);
static inline void
image_ref_freep (struct image_ref **r)
{
  if (*r)
    image_ref_free (*r);
  *r = NULL;
}
#define _cleanup_image_ref_ _cleanup_ (image_ref_freep)
/* "docker.io/library/busybox" */
char *image_ref_name (const struct image_ref *ref);
/* "busybox" (docker's reference.FamiliarName) */
char *image_ref_familiar_name (const struct image_ref *ref);
/* "docker.io/library/busybox:latest@sha256:…" (all parts present) */
char *image_ref_string (const struct image_ref *ref);
/* "busybox:latest" (docker's reference.FamiliarString) */
char *image_ref_familiar (const struct image_ref *ref);
/* Normalized full string -> familiar string ("docker.io/library/x:1" -> "x:1");
 * returns a copy of s when it does not parse. */
char *image_ref_familiarize (const char *s);

/* ================================================================ blobs == */

bool image_blob_exists (struct image_store *store, const char *digest);
/* Size in bytes, or -1 with *err when missing. */
int64_t image_blob_size (struct image_store *store, const char *digest, struct berth_error **err);
/* Read-only fd of a blob (O_CLOEXEC). */
int image_blob_open (struct image_store *store, const char *digest, struct berth_error **err);
/* Read a whole blob (manifests, configs); *out NUL-terminated. */
int image_blob_read (struct image_store *store, const char *digest, char **out, size_t *len,
                     struct berth_error **err);
/* Store bytes from memory; *digest_out (optional) gets "sha256:<hex>". When
 * expected_digest is not NULL the bytes must hash to it. */
int image_blob_put (struct image_store *store, const void *data, size_t len,
                    const char *expected_digest, char **digest_out, struct berth_error **err);
int image_blob_delete (struct image_store *store, const char *digest, struct berth_error **err);

/* Streaming writer: hashes as it writes into tmp/, and commit moves the blob
 * into place only when the digest (and, when given, the size) match: what a
 * registry claims is never trusted. */
struct image_blob_writer;
struct image_blob_writer *image_blob_writer_begin (struct image_store *store,
                                                   const char *expected_digest,
                                                   int64_t expected_size, struct berth_error **err);
int image_blob_writer_write (struct image_blob_writer *w, const void *buf, size_t len,
                             struct berth_error **err);
/* Verify, fsync, rename into blobs/. Frees w in every case. *digest_out
 * (optional) receives the digest of what was written. */
int image_blob_writer_commit (struct image_blob_writer *w, char **digest_out,
                              struct berth_error **err);
/* Drop everything written; frees w. */
void image_blob_writer_abort (struct image_blob_writer *w);

/* ============================================= manifests, indexes, configs == */

struct image_platform
{
  char *os;           /* "linux" */
  char *architecture; /* "amd64", "arm64", ... (GOARCH names) */
  char *variant;      /* "v8", "v7" or NULL */
};
void image_platform_clear (struct image_platform *p);
/* The host's platform, in GOARCH names (x86_64 -> amd64, aarch64 -> arm64/v8). */
void image_platform_host (struct image_platform *out);
/* "linux/arm64/v8", "linux/amd64", "arm64" (os defaults to linux). */
int image_platform_parse (const char *s, struct image_platform *out, struct berth_error **err);
/* "linux/arm64/v8" */
char *image_platform_string (const struct image_platform *p);

struct image_descriptor
{
  char *media_type;
  char *digest;
  int64_t size;
  bool has_platform;
  struct image_platform platform; /* index entries only */
  char **urls;                    /* foreign layers; NULL-terminated or NULL */
};

enum image_manifest_kind
{
  IMAGE_KIND_UNKNOWN = 0,
  IMAGE_KIND_DOCKER_MANIFEST,      /* Docker v2 schema 2 */
  IMAGE_KIND_DOCKER_MANIFEST_LIST, /* Docker manifest list */
  IMAGE_KIND_OCI_MANIFEST,
  IMAGE_KIND_OCI_INDEX,
};

/* A manifest (single platform) or an index/list (several), validated. */
struct image_manifest
{
  enum image_manifest_kind kind;
  char *media_type;
  struct image_descriptor config;  /* manifests only */
  struct image_descriptor *layers; /* manifests only */
  size_t n_layers;
  struct image_descriptor *manifests; /* indexes/lists only */
  size_t n_manifests;
};

/* What kind of document this is: from content_type (registry's
 * Content-Type, may be NULL) and the document's own mediaType/fields. */
enum image_manifest_kind image_manifest_kind_of (const char *data, size_t len,
                                                 const char *content_type);
bool image_manifest_kind_is_index (enum image_manifest_kind kind);
/* Parse and validate (schemaVersion 2, digests well formed, sizes >= 0,
 * known layer media types). Errors name the offending field
 * ("layers[2].digest: not a sha256 digest"). Schema 1 is refused with a clear
 * message, as docker 20.10+ does for pulls. */
int image_manifest_parse (const char *data, size_t len, const char *content_type,
                          struct image_manifest **out, struct berth_error **err);
void image_manifest_free (struct image_manifest *m);
static inline void
image_manifest_freep (struct image_manifest **m)
{
  if (*m)
    image_manifest_free (*m);
  *m = NULL;
}
#define _cleanup_image_manifest_ _cleanup_ (image_manifest_freep)
/* Pick the entry of an index for want (NULL = host platform), as
 * containerd's platforms.Only matcher does: exact os/arch, variant matched
 * with compatible fallbacks (arm64 v8 ~ no variant; arm v7 runs v6, v5).
 * Returns the index into m->manifests, or -1 with BERTH_E_NOT_FOUND
 * ("no matching manifest for linux/s390x in the manifest list entries"). */
ssize_t image_manifest_select (const struct image_manifest *index,
                               const struct image_platform *want, struct berth_error **err);

/* Compression of a layer media type: "gzip", "zstd", "" (plain tar) or NULL
 * when the media type is not a layer type. */
const char *image_layer_media_compression (const char *media_type);

/* ================================================================ layers == */

enum image_compression
{
  IMAGE_COMPRESSION_AUTO = 0, /* sniff the magic bytes (unpack only) */
  IMAGE_COMPRESSION_NONE,
  IMAGE_COMPRESSION_GZIP,
  IMAGE_COMPRESSION_ZSTD,
};

/* Streaming unpack: the registry client feeds compressed bytes as they come
 * off the network. One pass: sha256 of the compressed stream, decompression
 * (ISA-L igzip inflate for gzip, libzstd for zstd, none for tar), sha256 of
 * the tar stream (the diff_id) and fd-relative extraction into a tmp/
 * directory. The compressed bytes are also kept as a blob (for push/save).
 * finish() commits only when every digest matches; a mismatch, a hostile
 * entry or abort() keeps nothing. Layers are keyed by diff_id and shared by
 * every image that has them. With begin_verified and a diff_id that is
 * already unpacked, the stream is only verified (and its blob kept); with
 * plain begin it is extracted again into tmp/ and the existing layer kept.
 * Contexts are independent: any number may be open at once, in any threads
 * (the registry finishes each layer as soon as its blob verified, and takes
 * back what it committed with image_layer_discard if the image fails). */
struct image_layer_unpack;
/* expected_digest: digest of the bytes that will be written (the
 * manifest's layer digest), or NULL to accept any (load/import compute it;
 * with NULL and expected_size -1 a plain tar is kept as a gzip blob made in
 * the same pass, so it is push-ready and not stored twice uncompressed).
 * expected_size: -1 when unknown. media_type: NULL to sniff compression. */
struct image_layer_unpack *image_layer_unpack_begin (struct image_store *store,
                                                     const char *expected_digest,
                                                     int64_t expected_size, const char *media_type,
                                                     struct berth_error **err);
/* Like begin, also requiring the uncompressed stream to hash to
 * expected_diff_id (from the image config's rootfs.diff_ids). */
struct image_layer_unpack *
image_layer_unpack_begin_verified (struct image_store *store, const char *expected_digest,
                                   int64_t expected_size, const char *media_type,
                                   const char *expected_diff_id, struct berth_error **err);
/* Like begin_verified (expected_digest and expected_size required), with
 * the compressed bytes kept under <root>/partial/<hex> as they arrive
 * (instead of an unnamed file), so a pull killed or cut off half-way can
 * resume: image_layer_unpack_kept_bytes says how many bytes an earlier
 * unpack left, image_layer_unpack_replay feeds them through decompression
 * and extraction again (calling fn with each chunk, for the caller's
 * hash), and the caller writes the rest (asked for with a Range). The
 * digest is verified at the end as always; a failure drops the kept bytes,
 * image_layer_unpack_abort_keep keeps them. Stale ones are swept (24 h at
 * open, 1 h in gc). Not twice at once for one blob in one process: a
 * second unpack of the same blob starts from zero in an unnamed file. */
struct image_layer_unpack *
image_layer_unpack_begin_resumable (struct image_store *store, const char *expected_digest,
                                    int64_t expected_size, const char *media_type,
                                    const char *expected_diff_id, struct berth_error **err);
int64_t image_layer_unpack_kept_bytes (const struct image_layer_unpack *u);
/* fn returns non-zero to stop the replay (it then fails with ECANCELED,
 * keeping the bytes). */
int image_layer_unpack_replay (struct image_layer_unpack *u,
                               int (*fn) (void *data, const void *buf, size_t len), void *data,
                               struct berth_error **err);
/* abort, keeping the bytes received so far for a later resume (resumable
 * unpacks that did not fail; plain abort drops them). Frees u. */
void image_layer_unpack_abort_keep (struct image_layer_unpack *u);
int image_layer_unpack_write (struct image_layer_unpack *u, const void *buf, size_t len,
                              struct berth_error **err);
/* Verify and commit; frees u in every case. *diff_id_out (optional) gets
 * "sha256:<hex>" of the uncompressed tar. */
int image_layer_unpack_finish (struct image_layer_unpack *u, char **diff_id_out,
                               struct berth_error **err);
void image_layer_unpack_abort (struct image_layer_unpack *u);
/* What a finish put in place itself (zero pins: nothing, the layer was
 * there already or another unpack won), so a caller that gives up on the
 * whole image can take it back with image_layer_discard. */
struct image_layer_claim
{
  uint64_t layer_pin;
  uint64_t blob_pin; /* 0 when the blob was there already or shared */
};
/* finish, filling *claim. */
int image_layer_unpack_finish_claim (struct image_layer_unpack *u, char **diff_id_out,
                                     struct image_layer_claim *claim, struct berth_error **err);
/* Take back what a claim put in place when nothing used it since: no image
 * or snapshot references the layer and no other pull found or committed it
 * after the claim (then it is kept, and gc judges it later). The blob goes
 * with the layer on the same terms. */
int image_layer_discard (struct image_store *store, const char *diff_id,
                         const struct image_layer_claim *claim, struct berth_error **err);
/* For a caller that already hashes every compressed byte it writes and
 * checks the result against begin's expected_digest BEFORE it calls finish
 * (the registry client does, on its network thread, in parallel with the
 * unpack): the store skips its own second sha256 of the compressed stream.
 * A caller that cannot promise that check must not call this. Only right
 * after begin with an expected_digest; returns false (and changes nothing)
 * otherwise. The diff_id and size are still verified by the store. */
bool image_layer_unpack_blob_hashed_by_caller (struct image_layer_unpack *u);
/* Convenience: unpack everything readable from fd. */
int image_layer_unpack_fd (struct image_store *store, int fd, const char *expected_digest,
                           const char *media_type, char **diff_id_out, struct berth_error **err);

/* A layer found here is kept from gc for an hour (a pull that skips it
 * records its image later). */
bool image_layer_exists (struct image_store *store, const char *diff_id);
/* The compressed blob kept for a layer (what push uploads, what the
 * manifest lists). Strings are newly allocated. */
int image_layer_blob (struct image_store *store, const char *diff_id, char **digest,
                      char **media_type, int64_t *size, struct berth_error **err);
/* Unpacked size of a layer in bytes (docker's layer Size). */
int64_t image_layer_size (struct image_store *store, const char *diff_id, struct berth_error **err);
/* chain id of a stack of diff ids (OCI image spec: ChainID(L0) = DiffID(L0),
 * ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))). */
char *image_chain_id (char *const *diff_ids, size_t n);

/* ================================================================ images == */

/* One image as the store records it. */
struct image_info
{
  char *id;              /* config digest "sha256:<hex>" (docker's image Id) */
  char *manifest_digest; /* the manifest stored for it (pulled or generated) */
  char *parent;          /* local parent image id (commit), or NULL */
  char **repo_tags;      /* normalized, "docker.io/library/busybox:latest" */
  char **repo_digests;   /* normalized, "docker.io/library/busybox@sha256:…" */
  char *created;         /* from the config, RFC 3339 */
  int64_t size;          /* sum of the unpacked layer sizes */
  char **diff_ids;       /* bottom layer first */
  size_t n_layers;
  char *os, *architecture, *variant;
  char *last_tag_time; /* RFC 3339, or NULL when never tagged */
};
void image_info_free (struct image_info *info);
void image_info_list_free (struct image_info **list, size_t n);

/* Record an image whose config (and optionally manifest) blobs and every
 * layer are already in the store. Checks that the config's diff_ids are all
 * present. ref (optional) gets tagged (when it has a tag) and repo_digest
 * (optional, "sha256:…": the digest the user pulled, i.e. the index digest for
 * multi-platform images) recorded as <name>@<digest>. A tag moves from any
 * other image, as docker does. *id_out (optional) = config digest. */
struct image_add_options
{
  const char *config_digest;   /* required */
  const char *manifest_digest; /* optional; NULL: a Docker v2 schema 2
                                  manifest is generated from the layer blobs */
  const char *repo_digest;     /* optional */
  const struct image_ref *ref; /* optional */
  const char *parent;          /* optional local parent id */
};
int image_store_add (struct image_store *store, const struct image_add_options *opts, char **id_out,
                     struct berth_error **err);

/* Every complete image (dangling ones included), sorted newest first. */
int image_list (struct image_store *store, struct image_info ***out, size_t *n,
                struct berth_error **err);
/* Resolve what a user typed, as docker does: full id, "sha256:<hex>", a
 * unique id prefix (>= 1 char), name[:tag] (":latest" implied), or
 * name@digest (matched against repo digests). BERTH_E_NOT_FOUND reads
 * "No such image: <s>". *id_out = config digest. */
int image_resolve (struct image_store *store, const char *s, char **id_out,
                   struct berth_error **err);
int image_get (struct image_store *store, const char *id, struct image_info **out,
               struct berth_error **err);
/* The Engine API's ImageInspect object (Id, RepoTags, RepoDigests, Parent,
 * Comment, Created, Container, ContainerConfig, DockerVersion, Author,
 * Config, Architecture, Variant, Os, Size, VirtualSize, GraphDriver, RootFS,
 * Metadata), tags and digests in familiar form. */
int image_inspect (struct image_store *store, const char *id, json_t **out,
                   struct berth_error **err);
/* The Engine API's /images/{name}/history array, newest first. */
int image_history (struct image_store *store, const char *id, json_t **out,
                   struct berth_error **err);
/* The config blob parsed (caller owns the reference). */
int image_config (struct image_store *store, const char *id, json_t **out,
                  struct berth_error **err);
/* The manifest to push for an image and its media type (generated on add
 * when none was pulled). */
int image_manifest_get (struct image_store *store, const char *id, char **manifest, size_t *len,
                        char **media_type, struct berth_error **err);

/* Point target (name[:tag], ":latest" implied) at the image s resolves to. */
int image_tag (struct image_store *store, const char *s, const char *target,
               struct berth_error **err);
/* Record name@digest after a push. */
int image_add_repo_digest (struct image_store *store, const char *id, const struct image_ref *ref,
                           const char *digest, struct berth_error **err);

/* Who uses an image (the daemon's containers), asked before a delete. Return
 * true and set *container_id (malloc'd) and *is_running when one does.
 * Called with the store's (recursive) lock held: it may call back into the
 * store from the same thread, but must not wait for another thread that
 * uses the store. Without a hook, a snapshot made from the image counts as
 * a stopped container using it. */
typedef bool (*image_in_use_fn) (const char *image_id, char **container_id, bool *is_running,
                                 void *data);
void image_store_set_in_use_hook (struct image_store *store, image_in_use_fn fn, void *data);

/* docker rmi semantics: a name untags (and deletes the image when that was
 * its last reference); an id deletes, refusing (BERTH_E_CONFLICT, docker's
 * messages) when the image has several repository references unless force,
 * or when a container (hook or snapshot) uses it (force untags but keeps a
 * running container's image). *report (optional) gets the Engine API's
 * ImageDeleteResponseItem array: [{"Untagged": …}, {"Deleted": …}].
 * Unreferenced layers and blobs are released. */
int image_remove (struct image_store *store, const char *s, bool force, json_t **report,
                  struct berth_error **err);
/* Remove dangling images (no tags) no container uses; with all, every image
 * no container uses. *report: {"ImagesDeleted": [...], "SpaceReclaimed": n}. */
int image_prune (struct image_store *store, bool all, json_t **report, struct berth_error **err);

/* ============================================================ snapshots == */

/* A container's root filesystem: overlayfs with the image's layer dirs as
 * lowerdirs and <root>/snapshots/<id>/{upper,work}. id is the caller's
 * (the container id); image_id NULL = an empty root (FROM scratch). */
int image_snapshot_create (struct image_store *store, const char *id, const char *image_id,
                           struct berth_error **err);
bool image_snapshot_exists (struct image_store *store, const char *id);
/* create writes meta.json without fsync (docker's RW layers are not synced
 * either): after a power loss the directory may be there with meta.json
 * empty or missing. Rewrite it (synced) from image_id's layers then;
 * returns 1 if it did, 0 if the snapshot is whole or absent. */
int image_snapshot_repair (struct image_store *store, const char *id, const char *image_id,
                           struct berth_error **err);
/* Mount at target (NULL = <root>/snapshots/<id>/merged); *mountpoint_out
 * (optional) gets the path. Mounting twice is an error (BERTH_E_CONFLICT). */
int image_snapshot_mount (struct image_store *store, const char *id, const char *target,
                          char **mountpoint_out, struct berth_error **err);
int image_snapshot_unmount (struct image_store *store, const char *id, struct berth_error **err);
/* Unmount (if mounted) and remove the upper layer. Missing is not an error. */
int image_snapshot_remove (struct image_store *store, const char *id, struct berth_error **err);
/* Give a snapshot another id (unmounted first), e.g. a build step's that
 * becomes a kept intermediate container's. The new id taken: CONFLICT. */
int image_snapshot_rename (struct image_store *store, const char *id, const char *new_id,
                           struct berth_error **err);
/* Image id a snapshot was made from (NULL for scratch). */
int image_snapshot_image (struct image_store *store, const char *id, char **image_id,
                          struct berth_error **err);

/* Every snapshot id (sorted), e.g. for the daemon to find ones no
 * container owns after a crash. */
int image_snapshot_list (struct image_store *store, char ***ids_out, struct berth_error **err);
/* docker's GraphDriver.Data of a container's snapshot (overlay2's shape):
 * {LowerDir (top first, ':'-joined), MergedDir, UpperDir, WorkDir}. */
json_t *image_snapshot_graph_data (struct image_store *store, const char *id,
                                   struct berth_error **err);
/* docker's SizeRw (bytes of the non-directories in the upper dir) and SizeRootFs
 * (SizeRw plus the image's layers). Either pointer may be NULL. */
int image_snapshot_size (struct image_store *store, const char *id, int64_t *size_rw,
                         int64_t *size_rootfs, struct berth_error **err);

enum image_change_kind
{
  IMAGE_CHANGE_MODIFIED = 0, /* docker's "Kind" values */
  IMAGE_CHANGE_ADDED = 1,
  IMAGE_CHANGE_DELETED = 2,
};
struct image_change
{
  char *path; /* "/etc/passwd" */
  enum image_change_kind kind;
};
/* docker diff: changes of the upper dir against the image, sorted by path. */
int image_snapshot_changes (struct image_store *store, const char *id, struct image_change **out,
                            size_t *n, struct berth_error **err);
void image_changes_free (struct image_change *changes, size_t n);
/* Write the upper dir as a layer tar (overlay whiteouts become .wh. files,
 * opaque dirs .wh..wh..opq) to out_fd, compressed as asked. */
int image_snapshot_diff_tar (struct image_store *store, const char *id, int out_fd,
                             enum image_compression compression, struct berth_error **err);

/* docker commit: the snapshot's changes as a new layer on top of its image,
 * with config (the new image's "config" object, i.e. Cmd, Env, …; NULL keeps
 * the parent's). ref (optional) is tagged. */
struct image_commit_options
{
  const json_t *config;               /* container config to record (docker's Config) */
  const json_t *container_config;     /* the container's own (docker's ContainerConfig);
                                         NULL keeps the parent image's */
  const char *comment;                /* --message */
  const char *author;                 /* --author */
  const char *container_id;           /* recorded as "container" */
  const struct image_ref *ref;        /* optional tag */
  enum image_compression compression; /* of the new layer blob; AUTO = gzip */
};
int image_commit (struct image_store *store, const char *snapshot_id,
                  const struct image_commit_options *opts, char **id_out, struct berth_error **err);

/* ============================================================= archives == */

/* docker save: a docker-archive (manifest.json, repositories, <config
 * hex>.json, <v1 id>/{VERSION,json,layer.tar}) plus an OCI image layout
 * (oci-layout, index.json, blobs/) in the same tar, as docker 25+ writes it:
 * each layer's uncompressed tar once, at blobs/sha256/<diff id>, which
 * manifest.json names and <v1 id>/layer.tar links to (docker 20.10's load
 * and skopeo read it). names: what the user typed (tags are kept, ids save
 * untagged). */
int image_save (struct image_store *store, char *const *names, int out_fd,
                struct berth_error **err);
/* docker load: a docker-archive or an OCI image layout (tar, optionally
 * gzip/zstd compressed). *loaded (optional) gets docker's lines ("Loaded
 * image: busybox:latest" / "Loaded image ID: sha256:…"). */
int image_load (struct image_store *store, int in_fd, char ***loaded, struct berth_error **err);
/* docker import: a plain root filesystem tar (optionally compressed) becomes
 * a single-layer image. changes: a config object merged into the default
 * one (Cmd, Env, …; NULL for none). ref optional. */
int image_import (struct image_store *store, int in_fd, const struct image_ref *ref,
                  const json_t *changes, const char *message, char **id_out,
                  struct berth_error **err);
/* docker export: the tree under rootfd (a mounted container root) as a tar. */
int image_export_rootfs (int rootfd, int out_fd, struct berth_error **err);

/* ============================================================ gc, check == */

/* Remove every blob and layer no image and no snapshot references (blobs
 * and layers this process committed in the last hour are spared: a pull in
 * flight has not recorded its image yet). tmp/ is swept on open, not here.
 * Layers left by a killed pull are kept until then, so a later pull of the
 * same image reuses them. *freed_bytes optional. */
int image_store_gc (struct image_store *store, int64_t *freed_bytes, struct berth_error **err);
/* What `check` looked at, one call per item, in this order: every blob
 * (its sha256 against its name), every layer (its files against the
 * listing recorded at unpack, and its kept blob), every image (its config,
 * manifest and layers present), every tag (its image present). */
enum image_check_kind
{
  IMAGE_CHECK_BLOB,
  IMAGE_CHECK_LAYER,
  IMAGE_CHECK_IMAGE,
  IMAGE_CHECK_TAG,
};
/* "blob", "layer", "image", "tag" */
const char *image_check_kind_name (enum image_check_kind kind);
struct image_check_item
{
  enum image_check_kind kind;
  const char *name;    /* digest, diff id, image id or "name:tag" */
  int64_t bytes;       /* bytes read to check it (blob content, layer files) */
  const char *problem; /* NULL when fine; else what is wrong and where
                          ("content hashes to sha256:…", "files differ from
                          the unpacked layer: recorded `/etc/passwd …`,
                          found `…`") */
};
/* Return non-zero to stop the check (it then fails with ECANCELED). */
typedef int (*image_check_fn) (const struct image_check_item *item, void *data);
/* Verify the store. Safe beside concurrent pulls, loads and removals: the
 * store's lock is held only to take a consistent look at one item (never
 * while content is read), a blob or layer removed or replaced while it was
 * read is skipped, not reported. fn may be NULL. *n_problems (optional)
 * counts the items with a problem. Fails only when the store cannot be read
 * at all (or fn stopped it). */
int image_store_check_each (struct image_store *store, image_check_fn fn, void *data,
                            size_t *n_problems, struct berth_error **err);
/* The same, collected: one "<kind> <name>: <problem>" string per problem
 * (empty vector: all good). */
int image_store_check (struct image_store *store, char ***problems, struct berth_error **err);
