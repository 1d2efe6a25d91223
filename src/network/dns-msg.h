/* Private to src/network: DNS messages (RFC 1035) — the little the embedded
 * server needs: parse a query's header and question, encode answers. Every
 * read is bounds-checked against the packet length; compression pointers
 * must point strictly backwards, so a hostile packet cannot loop. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_HEADER_LEN 12
#define DNS_UDP_MAX 512        /* without EDNS (RFC 1035 4.2.1) */
#define DNS_NAME_WIRE_MAX 255  /* RFC 1035 2.3.4 */
#define DNS_LABEL_MAX 63
/* Text form: a byte outside [A-Za-z0-9-_] becomes \DDD, so 4 per byte. */
#define DNS_NAME_TEXT_MAX (DNS_NAME_WIRE_MAX * 4 + 1)

#define DNS_TYPE_A 1
#define DNS_TYPE_PTR 12
#define DNS_TYPE_AAAA 28
#define DNS_TYPE_OPT 41
#define DNS_CLASS_IN 1

#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_FORMERR 1
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3
#define DNS_RCODE_NOTIMP 4
#define DNS_RCODE_REFUSED 5

struct dns_query
{
  uint16_t id;
  uint16_t flags;
  char name[DNS_NAME_TEXT_MAX]; /* no trailing dot; "" is the root */
  uint16_t qtype, qclass;
  size_t question_end; /* offset just past the question */
  uint16_t udp_size;   /* what the client accepts: 512, or its EDNS size */
};

enum dns_parse_result
{
  DNS_PARSE_OK = 0,
  DNS_PARSE_DROP,    /* not even a header, or a response: no answer */
  DNS_PARSE_FORMERR, /* answer FORMERR */
  DNS_PARSE_NOTIMP,  /* not a standard query */
};

/* Decode the (possibly compressed) name at off. *next is the offset after the
 * name in the original position. Returns 0, or -1 on any malformation:
 * truncation, pointer loops or forward pointers, label > 63, name > 255,
 * reserved label types. */
int dns_name_decode (const uint8_t *msg, size_t len, size_t off, char *out, size_t out_cap,
                     size_t *next);
/* Text name → wire labels. Returns bytes written or -1 (label empty or too
 * long, name too long, cap too small). Accepts a trailing dot. */
int dns_name_encode (const char *name, uint8_t *out, size_t cap);

enum dns_parse_result dns_query_parse (const uint8_t *msg, size_t len, struct dns_query *q);

/* Build a response to q (whose wire bytes are query) into out: the question
 * copied, then n_addrs A records (or one PTR record when ptr_target is not
 * NULL). Answers that do not fit q->udp_size (and cap) are cut and TC set.
 * Returns the length, or 0 when even the bare answer does not fit. */
size_t dns_response_build (const uint8_t *query, const struct dns_query *q, int rcode,
                           const uint32_t *addrs, size_t n_addrs, const char *ptr_target,
                           uint32_t ttl, uint8_t *out, size_t cap);
/* A header-only error answer (FORMERR/NOTIMP/SERVFAIL) keeping the id. */
size_t dns_error_build (const uint8_t *query, size_t len, int rcode, uint8_t *out, size_t cap);

/* "4.3.2.1.in-addr.arpa" → 1.2.3.4 (host order). */
bool dns_ptr_name_to_ipv4 (const char *name, uint32_t *addr);
