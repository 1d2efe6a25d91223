/* Parallel layer downloads for pull: curl multi drives every transfer from
 * the calling thread (network only), and each layer has an unpack thread
 * that takes bytes from a ring buffer and feeds the store's one-pass
 * hash + decompress + extract. A full ring pauses that transfer (never the
 * others); transient failures retry with backoff and resume with Range. */
#include "registry/registry-internal.h"
#include "image/image.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <string.h>

#define RING_BYTES (8u << 20)
#define PROGRESS_INTERVAL_NS (100ull * 1000000ull)

enum xfer_state
{
  XFER_QUEUED = 0,
  XFER_REPLAYING, /* the unpack replays bytes kept by an interrupted pull */
  XFER_ACTIVE,    /* in the multi handle */
  XFER_BACKOFF,  /* waiting to retry */
  XFER_DRAINING, /* all bytes received, the unpack thread finishes */
  XFER_DONE,
  XFER_FAILED,
};

struct xfer
{
  struct registry_layer_job *job;
  struct transfer *t;
  enum xfer_state state;
  CURL *easy;
  struct curl_slist *headers;
  char *scope;
  unsigned attempt;
  bool did_reauth;
  uint64_t retry_at_ns;
  /* Bytes handed to the unpack so far (the Range resume point). */
  int64_t received;
  /* Bytes an earlier, interrupted pull kept (partial/<hex>), replayed by
   * the unpack thread before the download goes on from there; once. */
  int64_t resumed_from;
  bool is_replayed, did_restart;
  bool keep_partial; /* an abort keeps what arrived, for the next pull */
  /* Bytes of the current response still to discard (a 200 to a Range). */
  int64_t discard;
  bool is_response_checked;
  bool is_oversized; /* the registry sent more than the manifest's size */
  uint64_t last_progress_ns;

  /* Ring buffer shared with the unpack thread (under mu). */
  pthread_mutex_t mu;
  pthread_cond_t cond;
  char *ring;
  uint64_t head, tail; /* monotonic: written, consumed */
  bool is_eof, is_aborted, is_paused, needs_unpause;
  bool has_thread, is_consumer_done;
  /* What the unpack committed (each layer commits as soon as its own blob
   * and diff_id are verified, so a kill -9 keeps the finished ones): taken
   * back if the image fails for bad content. Read after the join. */
  struct image_layer_claim claim;
  EVP_MD_CTX *sha; /* of the bytes handed to the unpack (network thread) */
  int consumer_rc;
  struct berth_error *consumer_err;
  pthread_t thread;
  struct image_layer_unpack *unpack;
};

struct transfer
{
  struct registry_client *c;
  struct image_store *store;
  const char *path;
  CURLM *multi;
  struct xfer *x;
  size_t n;
  bool is_canceled;
  /* The registry sent bad content (digest, size, range) or an unpack
   * refused it: what this pull committed is taken back. Transport
   * failures and cancels keep finished layers for the next pull. */
  bool is_content_bad;
};

/* ----------------------------------------------------------- unpack side -- */

static int
replay_hash (void *opaque, const void *buf, size_t len)
{
  struct xfer *x = opaque;
  EVP_DigestUpdate (x->sha, buf, len);
  /* a cancel or a failure elsewhere need not wait for a long replay */
  pthread_mutex_lock (&x->mu);
  bool stop = x->is_aborted;
  pthread_mutex_unlock (&x->mu);
  return stop;
}

static void *
unpack_thread (void *opaque)
{
  struct xfer *x = opaque;
  struct berth_error *e = NULL;
  int rc = 0;
  if (x->resumed_from > 0)
    {
      /* x->sha is this thread's until is_replayed is set (the network
       * side starts this layer's download only then). */
      rc = image_layer_unpack_replay (x->unpack, replay_hash, x, &e);
      pthread_mutex_lock (&x->mu);
      x->is_replayed = true;
      pthread_mutex_unlock (&x->mu);
      curl_multi_wakeup (x->t->multi);
    }
  for (;;)
    {
      if (rc < 0)
        break;
      pthread_mutex_lock (&x->mu);
      while (x->head == x->tail && !x->is_eof && !x->is_aborted)
        pthread_cond_wait (&x->cond, &x->mu);
      if (x->is_aborted)
        {
          pthread_mutex_unlock (&x->mu);
          rc = -1;
          break;
        }
      if (x->head == x->tail && x->is_eof)
        {
          pthread_mutex_unlock (&x->mu);
          break;
        }
      uint64_t off = x->tail % RING_BYTES;
      uint64_t avail = x->head - x->tail;
      if (avail > RING_BYTES - off)
        avail = RING_BYTES - off;
      pthread_mutex_unlock (&x->mu);

      /* The span [tail, tail+avail) is ours until tail moves. */
      rc = image_layer_unpack_write (x->unpack, x->ring + off, (size_t)avail, &e);

      pthread_mutex_lock (&x->mu);
      x->tail += avail;
      if (x->is_paused && x->head - x->tail <= RING_BYTES / 2)
        {
          x->needs_unpause = true;
          curl_multi_wakeup (x->t->multi);
        }
      pthread_mutex_unlock (&x->mu);
    }
  if (rc == 0)
    {
      /* The stream is in and its digest matched (is_eof is set only after
       * that check): the ring is not needed any more, the layer commits. */
      pthread_mutex_lock (&x->mu);
      char *ring = steal_pointer (&x->ring);
      pthread_mutex_unlock (&x->mu);
      free (ring);
      _cleanup_free_ char *diff_id = NULL;
      rc = image_layer_unpack_finish_claim (x->unpack, &diff_id, &x->claim, &e);
    }
  else
    {
      pthread_mutex_lock (&x->mu);
      bool keep = x->keep_partial;
      pthread_mutex_unlock (&x->mu);
      if (keep)
        image_layer_unpack_abort_keep (x->unpack);
      else
        image_layer_unpack_abort (x->unpack);
    }
  x->unpack = NULL;
  if (rc < 0 && e != NULL)
    berth_error_prefix (&e, "layer %s", x->job->digest);
  pthread_mutex_lock (&x->mu);
  x->consumer_rc = rc;
  x->consumer_err = e;
  x->is_consumer_done = true;
  pthread_mutex_unlock (&x->mu);
  curl_multi_wakeup (x->t->multi);
  return NULL;
}

static int
consumer_start (struct xfer *x, struct berth_error **err)
{
  x->ring = malloc (RING_BYTES);
  if (x->ring == NULL)
    return berth_error_set (err, ENOMEM, "layer %s: buffer", x->job->digest);
  /* Resumable when the manifest gives the size (it always does for a
   * registry pull): a layer cut off by a crash, a kill or a failure goes
   * on from its kept bytes next time. */
  x->unpack = x->job->size >= 0
                  ? image_layer_unpack_begin_resumable (x->t->store, x->job->digest, x->job->size,
                                                        x->job->media_type, x->job->diff_id, err)
                  : image_layer_unpack_begin_verified (x->t->store, x->job->digest, x->job->size,
                                                       x->job->media_type, x->job->diff_id, err);
  if (x->unpack == NULL)
    return berth_error_prefix (err, "layer %s", x->job->digest);
  /* xfer_write hashes every byte it puts in the ring (and the replay every
   * kept byte), and xfer_complete checks that digest before it sets
   * is_eof, the only way to a finish (an abort never finishes): the store
   * need not hash the same bytes a second time. */
  image_layer_unpack_blob_hashed_by_caller (x->unpack);
  x->resumed_from = image_layer_unpack_kept_bytes (x->unpack);
  x->received = x->resumed_from;
  if (x->resumed_from > 0)
    berth_log (BERTH_LOG_INFO, "layer %s: resuming at byte %lld of %lld (kept by an interrupted pull)",
               x->job->digest, (long long)x->resumed_from, (long long)x->job->size);
  int r = pthread_create (&x->thread, NULL, unpack_thread, x);
  if (r != 0)
    {
      image_layer_unpack_abort_keep (x->unpack);
      x->unpack = NULL;
      return berth_error_set (err, r, "layer %s: start unpack thread", x->job->digest);
    }
  x->has_thread = true;
  return 0;
}

static void
consumer_stop (struct xfer *x, bool abort_it)
{
  if (!x->has_thread)
    return;
  pthread_mutex_lock (&x->mu);
  if (abort_it)
    x->is_aborted = true;
  else
    x->is_eof = true;
  pthread_cond_signal (&x->cond);
  pthread_mutex_unlock (&x->mu);
  pthread_join (x->thread, NULL);
  x->has_thread = false;
}

/* ---------------------------------------------------------- network side -- */

static bool
response_is_usable (struct xfer *x)
{
  long status = 0;
  curl_easy_getinfo (x->easy, CURLINFO_RESPONSE_CODE, &status);
  if (status == 200)
    {
      /* No Range support (or none asked): skip what the unpack already has. */
      x->discard = x->received;
      return true;
    }
  if (status == 206 && x->received > 0)
    {
      struct curl_header *h = NULL;
      if (curl_easy_header (x->easy, "Content-Range", 0, CURLH_HEADER, -1, &h) != CURLHE_OK)
        return false;
      long long start = -1;
      if (sscanf (h->value, "bytes %lld-", &start) != 1 || start != x->received)
        return false;
      x->discard = 0;
      return true;
    }
  return false;
}

static size_t
xfer_write (char *data, size_t size, size_t n, void *opaque)
{
  struct xfer *x = opaque;
  size_t len = size * n;
  if (!x->is_response_checked)
    {
      if (!response_is_usable (x))
        return 0; /* an error status: done() looks at it */
      x->is_response_checked = true;
    }
  size_t skip = 0;
  if (x->discard > 0)
    {
      skip = (size_t)x->discard < len ? (size_t)x->discard : len;
      x->discard -= (int64_t)skip;
      if (skip == len)
        return len;
    }
  const char *p = data + skip;
  size_t want = len - skip;
  /* A registry must not send more than the manifest says. */
  if (x->job->size >= 0 && x->received + (int64_t)want > x->job->size)
    {
      x->is_oversized = true;
      return 0;
    }
  pthread_mutex_lock (&x->mu);
  if (x->is_consumer_done || x->is_aborted)
    {
      pthread_mutex_unlock (&x->mu);
      return 0;
    }
  if (RING_BYTES - (x->head - x->tail) < want)
    {
      x->is_paused = true;
      pthread_mutex_unlock (&x->mu);
      if (skip > 0)
        {
          /* curl hands the same buffer back after the pause; the skipped
           * part must not be skipped twice. */
          x->discard += (int64_t)skip;
        }
      return CURL_WRITEFUNC_PAUSE;
    }
  uint64_t off = x->head % RING_BYTES;
  size_t first = want < RING_BYTES - off ? want : (size_t)(RING_BYTES - off);
  memcpy (x->ring + off, p, first);
  memcpy (x->ring, p + first, want - first);
  x->head += want;
  x->is_paused = false;
  pthread_cond_signal (&x->cond);
  pthread_mutex_unlock (&x->mu);
  x->received += (int64_t)want;
  EVP_DigestUpdate (x->sha, p, want);
  return len;
}

static int
xfer_emit (struct xfer *x, const char *status, bool detail, int64_t cur, int64_t total)
{
  return registry_progress_emit (x->t->c->opts, status, x->job->short_id, detail, cur, total);
}

static int
xfer_start (struct xfer *x, struct berth_error **err)
{
  struct registry_client *c = x->t->c;
  if (x->easy == NULL)
    x->easy = curl_easy_init ();
  else
    curl_easy_reset (x->easy);
  if (x->headers)
    curl_slist_free_all (x->headers);
  x->headers = NULL;
  registry_client_setup_easy (c, x->easy);
  _cleanup_free_ char *url = registry_client_url (c, "/v2/%s/blobs/%s", x->t->path, x->job->digest);
  _cleanup_free_ char *auth = NULL;
  if (registry_client_auth_header (c, x->scope, &auth, err) < 0)
    return -1;
  if (auth)
    x->headers = curl_slist_append (x->headers, auth);
  if (x->received > 0)
    {
      _cleanup_free_ char *range = xasprintf ("Range: bytes=%lld-", (long long)x->received);
      x->headers = curl_slist_append (x->headers, range);
    }
  curl_easy_setopt (x->easy, CURLOPT_URL, url);
  curl_easy_setopt (x->easy, CURLOPT_HTTPHEADER, x->headers);
  /* Registries redirect blob GETs to storage; curl does not send our
   * Authorization header to another host. */
  curl_easy_setopt (x->easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt (x->easy, CURLOPT_WRITEFUNCTION, xfer_write);
  curl_easy_setopt (x->easy, CURLOPT_WRITEDATA, x);
  curl_easy_setopt (x->easy, CURLOPT_PRIVATE, x);
  curl_easy_setopt (x->easy, CURLOPT_BUFFERSIZE, 512L * 1024L);
  x->is_response_checked = false;
  x->discard = 0;
  if (curl_multi_add_handle (x->t->multi, x->easy) != CURLM_OK)
    return berth_error_set (err, 0, "layer %s: curl_multi_add_handle", x->job->digest);
  x->state = XFER_ACTIVE;
  return 0;
}

static int xfer_restart (struct xfer *x, struct berth_error **err);

/* Every byte is in: the digest decides (the only check of the compressed
 * bytes in a pull), then the unpack may finish. */
static int
xfer_complete (struct xfer *x, struct berth_error **err)
{
  if (xfer_emit (x, "Verifying Checksum", true, -1, -1) != 0)
    x->t->is_canceled = true;
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int md_len = 0;
  EVP_DigestFinal_ex (x->sha, md, &md_len);
  char hex[2 * EVP_MAX_MD_SIZE + 1];
  for (unsigned i = 0; i < md_len; i++)
    snprintf (hex + 2 * i, 3, "%02x", md[i]);
  const char *want_hex = strchr (x->job->digest, ':') + 1;
  if (strcmp (hex, want_hex) != 0)
    {
      if (x->resumed_from > 0 && !x->did_restart)
        return xfer_restart (x, err);
      x->t->is_content_bad = true;
      return berth_error_set_kind (err, BERTH_E_INTERNAL, 0,
                                   "layer %s: digest mismatch: the registry sent content hashing "
                                   "to sha256:%s",
                                   x->job->digest, hex);
    }
  x->state = XFER_DRAINING;
  if (xfer_emit (x, "Download complete", true, -1, -1) != 0)
    x->t->is_canceled = true;
  pthread_mutex_lock (&x->mu);
  x->is_eof = true;
  pthread_cond_signal (&x->cond);
  pthread_mutex_unlock (&x->mu);
  return 0;
}

/* A layer resumed from kept bytes did not verify (a torn write after a
 * power loss, say): the kept bytes are dropped (the unpack's abort removes
 * them) and the layer is downloaded again from its first byte, once. */
static int
xfer_restart (struct xfer *x, struct berth_error **err)
{
  berth_log (BERTH_LOG_WARNING,
             "layer %s: the %lld bytes kept by an interrupted pull did not verify; downloading "
             "it again from the start",
             x->job->digest, (long long)x->resumed_from);
  if (x->state == XFER_ACTIVE)
    curl_multi_remove_handle (x->t->multi, x->easy);
  x->keep_partial = false;
  consumer_stop (x, true);
  free (x->ring);
  x->ring = NULL;
  berth_error_free (steal_pointer (&x->consumer_err));
  x->head = x->tail = 0;
  x->is_eof = x->is_aborted = x->is_paused = x->needs_unpause = x->is_consumer_done = false;
  x->consumer_rc = 0;
  x->received = x->discard = x->resumed_from = 0;
  x->is_replayed = false;
  x->did_restart = true;
  x->claim = (struct image_layer_claim){ 0 };
  EVP_DigestInit_ex (x->sha, EVP_sha256 (), NULL);
  if (consumer_start (x, err) < 0)
    return -1;
  return xfer_start (x, err);
}

/* A transfer ended: decide between done, retry and failure. */
static int
xfer_done (struct xfer *x, CURLcode rc, struct berth_error **err)
{
  long status = 0;
  curl_easy_getinfo (x->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_multi_remove_handle (x->t->multi, x->easy);
  x->state = XFER_FAILED;
  bool consumer_failed;
  pthread_mutex_lock (&x->mu);
  consumer_failed = x->is_consumer_done && x->consumer_rc < 0;
  pthread_mutex_unlock (&x->mu);
  if (consumer_failed)
    {
      if (x->resumed_from > 0 && !x->did_restart)
        return xfer_restart (x, err);
      x->t->is_content_bad = true;
      return -1; /* the unpack's error is reported by the caller */
    }
  bool is_complete = rc == CURLE_OK && (status == 200 || status == 206)
                     && (x->job->size < 0 || x->received == x->job->size);
  if (is_complete)
    return xfer_complete (x, err);
  /* The write callback refuses the body of an error status: that is an
   * HTTP answer, not a transport failure. */
  bool is_http_answer = rc == CURLE_OK || (rc == CURLE_WRITE_ERROR && !x->is_response_checked);
  bool is_body_ok = status == 200 || status == 206;
  if (is_http_answer && status == 401 && !x->did_reauth)
    {
      /* The token expired mid-pull: fetch a new one and go on. */
      x->did_reauth = true;
      registry_client_token_drop (x->t->c, x->scope);
      return xfer_start (x, err);
    }
  bool is_too_long = rc == CURLE_WRITE_ERROR && x->is_oversized;
  bool is_transient;
  if (is_http_answer && !is_body_ok)
    is_transient = registry_status_is_transient (status);
  else if (is_http_answer)
    is_transient = !(status == 206 && rc == CURLE_WRITE_ERROR); /* short body; bad Content-Range */
  else
    is_transient = !is_too_long && registry_curl_is_transient (rc);
  if (is_transient && x->attempt < registry_max_retries (x->t->c->opts))
    {
      uint64_t ms = registry_backoff_ms (x->attempt++);
      berth_log (BERTH_LOG_INFO, "layer %s: %s; retrying in %llu ms from byte %lld", x->job->digest,
                 rc != CURLE_OK ? curl_easy_strerror (rc) : "incomplete response",
                 (unsigned long long)ms, (long long)x->received);
      x->state = XFER_BACKOFF;
      x->retry_at_ns = time_now_ns () + ms * 1000000ull;
      return 0;
    }
  x->state = XFER_FAILED;
  if (is_too_long || (is_http_answer && status == 206 && rc == CURLE_WRITE_ERROR))
    x->t->is_content_bad = true;
  if (is_too_long)
    return berth_error_set_kind (
        err, BERTH_E_INTERNAL, 0,
        "layer %s: the registry sent more than the %lld bytes of the manifest", x->job->digest,
        (long long)x->job->size);
  if (is_http_answer && !is_body_ok)
    {
      struct registry_response r = { .status = status };
      _cleanup_free_ char *what = xasprintf ("layer %s", x->job->digest);
      return registry_error_from_response (&r, err, what);
    }
  if (is_http_answer && status == 206 && rc == CURLE_WRITE_ERROR)
    return berth_error_set_kind (
        err, BERTH_E_INTERNAL, 0,
        "layer %s: resume at byte %lld: the registry answered another range", x->job->digest,
        (long long)x->received);
  if (is_http_answer)
    return berth_error_set_kind (
        err, BERTH_E_UNAVAILABLE, 0, "layer %s: got %lld of %lld bytes (after %u retries)",
        x->job->digest, (long long)x->received, (long long)x->job->size, x->attempt);
  return berth_error_set_kind (err, BERTH_E_UNAVAILABLE, 0, "layer %s: %s (after %u retries)",
                               x->job->digest, curl_easy_strerror (rc), x->attempt);
}

/* "Downloading" while bytes come in; then, while the unpack thread works
 * through what is buffered, "Extracting" with the bytes it has consumed. */
static void
xfer_progress (struct xfer *x, uint64_t now)
{
  if ((x->state != XFER_ACTIVE && x->state != XFER_DRAINING)
      || now - x->last_progress_ns < PROGRESS_INTERVAL_NS)
    return;
  x->last_progress_ns = now;
  int r;
  if (x->state == XFER_ACTIVE)
    r = xfer_emit (x, "Downloading", true, x->received, x->job->size);
  else
    {
      pthread_mutex_lock (&x->mu);
      int64_t consumed = (int64_t)x->tail;
      pthread_mutex_unlock (&x->mu);
      r = xfer_emit (x, "Extracting", true, consumed, x->received);
    }
  if (r != 0)
    x->t->is_canceled = true;
}

/* ------------------------------------------------------------------ loop -- */

/* Stops every transfer and joins every unpack thread; claims_out (n
 * entries) gets what each unpack committed, final once joined. */
static void
transfer_cleanup (struct transfer *t, bool abort_all, struct image_layer_claim *claims_out)
{
  for (size_t i = 0; i < t->n; i++)
    {
      struct xfer *x = &t->x[i];
      if (x->easy)
        {
          if (x->state == XFER_ACTIVE)
            curl_multi_remove_handle (t->multi, x->easy);
          curl_easy_cleanup (x->easy);
        }
      /* a download cut off by a transport failure or a cancel is kept for
       * the next pull to resume; bad content is not */
      pthread_mutex_lock (&x->mu);
      x->keep_partial = !t->is_content_bad;
      pthread_mutex_unlock (&x->mu);
      consumer_stop (x, abort_all);
      claims_out[i] = x->claim;
      if (x->unpack)
        image_layer_unpack_abort (x->unpack);
      if (x->headers)
        curl_slist_free_all (x->headers);
      berth_error_free (x->consumer_err);
      free (x->ring);
      free (x->scope);
      EVP_MD_CTX_free (x->sha);
      pthread_mutex_destroy (&x->mu);
      pthread_cond_destroy (&x->cond);
    }
  free (t->x);
  if (t->multi)
    curl_multi_cleanup (t->multi);
}

static int
transfer_run (struct transfer *t, unsigned max_active, struct berth_error **err)
{
  for (;;)
    {
      uint64_t now = time_now_ns ();
      size_t active = 0, pending = 0;
      for (size_t i = 0; i < t->n; i++)
        {
          struct xfer *x = &t->x[i];
          if (x->state == XFER_ACTIVE || x->state == XFER_BACKOFF || x->state == XFER_REPLAYING)
            active++;
          if (x->state != XFER_DONE)
            pending++;
        }
      if (pending == 0)
        return 0;
      if (t->is_canceled)
        return berth_error_set_kind (err, BERTH_E_INTERNAL, ECANCELED, "pull");
      /* Start queued transfers, restart those whose backoff ended. */
      for (size_t i = 0; i < t->n; i++)
        {
          struct xfer *x = &t->x[i];
          if (x->state == XFER_QUEUED && active < max_active)
            {
              if (consumer_start (x, err) < 0)
                return -1;
              if (x->resumed_from > 0)
                x->state = XFER_REPLAYING;
              else if (xfer_start (x, err) < 0)
                return -1;
              active++;
            }
          else if (x->state == XFER_REPLAYING)
            {
              pthread_mutex_lock (&x->mu);
              bool go = x->is_replayed && !x->is_consumer_done;
              pthread_mutex_unlock (&x->mu);
              /* the rest from where the kept bytes end (none left: the
               * digest decides at once) */
              if (go
                  && (x->received == x->job->size ? xfer_complete (x, err) : xfer_start (x, err))
                         < 0)
                return -1;
            }
          else if (x->state == XFER_BACKOFF && now >= x->retry_at_ns)
            {
              if (xfer_start (x, err) < 0)
                return -1;
            }
        }
      /* Unpause transfers whose ring drained, collect finished unpacks. */
      for (size_t i = 0; i < t->n; i++)
        {
          struct xfer *x = &t->x[i];
          pthread_mutex_lock (&x->mu);
          bool unpause = x->needs_unpause;
          x->needs_unpause = false;
          bool consumer_done = x->is_consumer_done;
          int consumer_rc = x->consumer_rc;
          pthread_mutex_unlock (&x->mu);
          if (consumer_done && consumer_rc < 0 && x->resumed_from > 0 && !x->did_restart)
            {
              if (xfer_restart (x, err) < 0)
                return -1;
              continue;
            }
          if (consumer_done && consumer_rc < 0)
            {
              t->is_content_bad = true;
              if (x->consumer_err)
                {
                  registry_error_move (err, &x->consumer_err);
                  return -1;
                }
              return berth_error_set (err, 0, "layer %s: unpack failed", x->job->digest);
            }
          if (unpause && x->state == XFER_ACTIVE)
            curl_easy_pause (x->easy, CURLPAUSE_CONT);
          if (consumer_done && x->state == XFER_DRAINING)
            {
              pthread_join (x->thread, NULL);
              x->has_thread = false;
              x->state = XFER_DONE;
              x->job->is_done = true;
              /* An image can have a hundred layers: give each ring back as
               * soon as its layer is in. */
              free (x->ring);
              x->ring = NULL;
              curl_easy_cleanup (x->easy);
              x->easy = NULL;
              if (xfer_emit (x, "Extracting", true, x->received, x->job->size) != 0
                  || xfer_emit (x, "Pull complete", true, -1, -1) != 0)
                t->is_canceled = true;
            }
        }
      int running = 0;
      curl_multi_perform (t->multi, &running);
      CURLMsg *msg;
      int left;
      while ((msg = curl_multi_info_read (t->multi, &left)) != NULL)
        {
          if (msg->msg != CURLMSG_DONE)
            continue;
          struct xfer *x = NULL;
          curl_easy_getinfo (msg->easy_handle, CURLINFO_PRIVATE, (char **)&x);
          if (xfer_done (x, msg->data.result, err) < 0)
            {
              pthread_mutex_lock (&x->mu);
              bool consumer_failed = x->is_consumer_done && x->consumer_rc < 0;
              pthread_mutex_unlock (&x->mu);
              if (consumer_failed && x->consumer_err)
                registry_error_move (err, &x->consumer_err);
              return -1;
            }
        }
      now = time_now_ns ();
      for (size_t i = 0; i < t->n; i++)
        xfer_progress (&t->x[i], now);
      curl_multi_poll (t->multi, NULL, 0, 100, NULL);
    }
}

int
registry_layers_fetch (struct registry_client *c, struct image_store *store, const char *path,
                       struct registry_layer_job *jobs, size_t n_jobs, struct berth_error **err)
{
  if (n_jobs == 0)
    return 0;
  if (c->scheme == NULL && registry_client_ping (c, err) < 0)
    return -1;
  struct transfer t = { .c = c, .store = store, .path = path, .n = n_jobs };
  t.multi = curl_multi_init ();
  t.x = calloc (n_jobs, sizeof *t.x);
  if (t.multi == NULL || t.x == NULL)
    abort ();
  for (size_t i = 0; i < n_jobs; i++)
    {
      struct xfer *x = &t.x[i];
      x->job = &jobs[i];
      x->t = &t;
      x->scope = registry_scope (path, "pull");
      x->sha = EVP_MD_CTX_new ();
      if (x->sha == NULL)
        abort ();
      EVP_DigestInit_ex (x->sha, EVP_sha256 (), NULL);
      pthread_mutex_init (&x->mu, NULL);
      pthread_cond_init (&x->cond, NULL);
    }
  unsigned max_active
      = c->opts && c->opts->max_concurrent_downloads ? c->opts->max_concurrent_downloads : 3;
  curl_multi_setopt (t.multi, CURLMOPT_MAX_HOST_CONNECTIONS, (long)max_active + 1);
  for (size_t i = max_active; i < n_jobs; i++)
    registry_progress_emit (c->opts, "Waiting", jobs[i].short_id, true, -1, -1);
  int r = transfer_run (&t, max_active, err);
  struct image_layer_claim *claims = calloc (n_jobs, sizeof *claims);
  if (claims == NULL)
    abort ();
  transfer_cleanup (&t, r < 0, claims);
  /* A bad blob keeps nothing of the image: the layers this pull put in
   * place go again, unless another pull or image uses them meanwhile. */
  for (size_t i = 0; r < 0 && t.is_content_bad && i < n_jobs; i++)
    {
      _cleanup_error_ struct berth_error *e = NULL;
      if (image_layer_discard (store, jobs[i].diff_id, &claims[i], &e) < 0)
        berth_log (BERTH_LOG_WARNING, "%s (left for gc)", e->msg);
    }
  free (claims);
  return r;
}

/* ------------------------------------------------------------ small blobs -- */

int
registry_blob_fetch_small (struct registry_client *c, const char *path, const char *digest,
                           char **out, size_t *len, struct berth_error **err)
{
  _cleanup_free_ char *scope = registry_scope (path, "pull");
  _cleanup_free_ char *url = xasprintf ("/v2/%s/blobs/%s", path, digest);
  struct registry_request req = {
    .method = "GET", .url = url, .scope = scope, .follow_redirects = true, .max_body = 64u << 20
  };
  struct registry_response resp;
  if (registry_client_do (c, &req, &resp, err) < 0)
    return berth_error_prefix (err, "blob %s", digest);
  if (resp.status != 200)
    {
      _cleanup_free_ char *what = xasprintf ("blob %s", digest);
      registry_error_from_response (&resp, err, what);
      registry_response_clear (&resp);
      return -1;
    }
  _cleanup_free_ char *got = sha256_digest (resp.body ? resp.body : "", resp.body_len);
  if (strcmp (got, digest) != 0)
    {
      registry_response_clear (&resp);
      return berth_error_set_kind (
          err, BERTH_E_INTERNAL, 0,
          "blob %s: digest mismatch: the registry sent content hashing to %s", digest, got);
    }
  *out = resp.body ? resp.body : xstrdup ("");
  *len = resp.body_len;
  resp.body = NULL;
  registry_response_clear (&resp);
  return 0;
}
