/* DNS messages: well-formed queries, hostile packets (compression loops,
 * forward pointers, truncation, label and name overflow, reserved label
 * types), answers with truncation, and random garbage (run under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include "network/dns-msg.h"

/* A query for name/type with optional EDNS OPT record. */
static size_t
make_query (uint8_t *buf, const char *name, uint16_t type, uint16_t edns)
{
  memset (buf, 0, DNS_HEADER_LEN);
  buf[0] = 0x12;
  buf[1] = 0x34;
  buf[2] = 0x01; /* RD */
  buf[5] = 1;    /* QDCOUNT */
  int n = dns_name_encode (name, buf + DNS_HEADER_LEN, 300);
  assert_true (n > 0);
  size_t w = DNS_HEADER_LEN + (size_t) n;
  buf[w++] = (uint8_t) (type >> 8);
  buf[w++] = (uint8_t) type;
  buf[w++] = 0;
  buf[w++] = 1;
  if (edns)
    {
      buf[11] = 1; /* ARCOUNT */
      const uint8_t opt[] = { 0, 0, 41, (uint8_t) (edns >> 8), (uint8_t) edns, 0, 0, 0, 0, 0, 0 };
      memcpy (buf + w, opt, sizeof opt);
      w += sizeof opt;
    }
  return w;
}

static void
test_parse_query (void **state)
{
  uint8_t buf[512];
  size_t len = make_query (buf, "Web.Example", DNS_TYPE_A, 0);
  struct dns_query q;
  assert_int_equal (dns_query_parse (buf, len, &q), DNS_PARSE_OK);
  assert_int_equal (q.id, 0x1234);
  assert_string_equal (q.name, "Web.Example");
  assert_int_equal (q.qtype, DNS_TYPE_A);
  assert_int_equal (q.qclass, DNS_CLASS_IN);
  assert_int_equal (q.question_end, len);
  assert_int_equal (q.udp_size, 512);
  len = make_query (buf, "db", DNS_TYPE_AAAA, 1232);
  assert_int_equal (dns_query_parse (buf, len, &q), DNS_PARSE_OK);
  assert_int_equal (q.udp_size, 1232);
  /* An EDNS size below 512 means 512 (RFC 6891 6.2.5). */
  len = make_query (buf, "db", DNS_TYPE_A, 100);
  assert_int_equal (dns_query_parse (buf, len, &q), DNS_PARSE_OK);
  assert_int_equal (q.udp_size, 512);
  /* Bytes outside [A-Za-z0-9-_] are escaped, so "a.b" in one label can
   * never match the name a.b. */
  const uint8_t odd[] = { 0x12, 0x34, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 3, 'a', '.', 'b', 1, 0xff, 0, 0, 1, 0, 1 };
  assert_int_equal (dns_query_parse (odd, sizeof odd, &q), DNS_PARSE_OK);
  assert_string_equal (q.name, "a\\046b.\\255");
}

static void
test_hostile_packets (void **state)
{
  struct dns_query q;
  /* hdr: id, RD, QD=1 */
#define HDR 0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00
  static const struct
  {
    const char *what;
    uint8_t pkt[64];
    size_t len;
    enum dns_parse_result want;
  } cases[] = {
    { "empty", { 0 }, 0, DNS_PARSE_DROP },
    { "short header", { 0x12, 0x34, 0x01 }, 3, DNS_PARSE_DROP },
    { "a response", { 0x12, 0x34, 0x81, 0x80, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 }, 17, DNS_PARSE_DROP },
    { "opcode STATUS", { 0x12, 0x34, 0x10, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1 }, 17, DNS_PARSE_NOTIMP },
    { "no question", { 0x12, 0x34, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0 }, 12, DNS_PARSE_FORMERR },
    { "two questions", { 0x12, 0x34, 0x01, 0, 0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 0, 1, 0, 1 }, 22, DNS_PARSE_FORMERR },
    { "header only", { HDR }, 12, DNS_PARSE_FORMERR },
    { "label runs past the end", { HDR, 10, 'a', 'b' }, 15, DNS_PARSE_FORMERR },
    { "no terminating zero", { HDR, 1, 'a' }, 14, DNS_PARSE_FORMERR },
    { "no type/class", { HDR, 1, 'a', 0, 0 }, 16, DNS_PARSE_FORMERR },
    { "pointer to itself", { HDR, 0xc0, 12, 0, 1, 0, 1 }, 18, DNS_PARSE_FORMERR },
    { "pointer forward", { HDR, 0xc0, 14, 1, 'a', 0, 0, 1, 0, 1 }, 21, DNS_PARSE_FORMERR },
    { "pointer loop a->b->a", { HDR, 1, 'a', 0xc0, 16, 0xc0, 12, 0, 1, 0, 1 }, 22, DNS_PARSE_FORMERR },
    { "pointer into header loop", { 0xc0, 0x00, 0x01, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0xc0, 0, 0, 1, 0, 1 }, 18, DNS_PARSE_FORMERR },
    { "truncated pointer", { HDR, 0xc0 }, 13, DNS_PARSE_FORMERR },
    { "label type 0x40", { HDR, 0x41, 'a', 0, 0, 1, 0, 1 }, 19, DNS_PARSE_FORMERR },
    { "label type 0x80", { HDR, 0x81, 'a', 0, 0, 1, 0, 1 }, 19, DNS_PARSE_FORMERR },
  };
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    {
      enum dns_parse_result r = dns_query_parse (cases[i].pkt, cases[i].len, &q);
      if (r != cases[i].want)
        fail_msg ("%s: got %d, want %d", cases[i].what, r, cases[i].want);
    }

  /* A name of 255+ bytes made of 63-byte labels. */
  uint8_t big[600];
  memset (big, 0, sizeof big);
  big[1] = 1;
  big[5] = 1;
  size_t w = DNS_HEADER_LEN;
  for (int l = 0; l < 5; l++)
    {
      big[w++] = 63;
      memset (big + w, 'x', 63);
      w += 63;
    }
  big[w++] = 0;
  big[w + 1] = 1;
  big[w + 3] = 1;
  w += 4;
  assert_int_equal (dns_query_parse (big, w, &q), DNS_PARSE_FORMERR);

  /* A backward pointer chain that is legal but long stays bounded by the
   * name length limit: label 'a' then pointer to the previous label, x100. */
  uint8_t chain[1024];
  memset (chain, 0, sizeof chain);
  chain[5] = 1;
  size_t c = DNS_HEADER_LEN;
  chain[c++] = 1;
  chain[c++] = 'a';
  chain[c++] = 0;
  size_t prev = DNS_HEADER_LEN;
  for (int i = 0; i < 100; i++)
    {
      size_t here = c;
      chain[c++] = 1;
      chain[c++] = 'b';
      chain[c++] = (uint8_t) (0xc0 | (prev >> 8));
      chain[c++] = (uint8_t) prev;
      prev = here;
    }
  /* The question is the last link: 101 labels, 2 bytes each = 203 ok. */
  char name[DNS_NAME_TEXT_MAX];
  size_t next;
  assert_int_equal (dns_name_decode (chain, c, prev, name, sizeof name, &next), 0);
  assert_int_equal (next, prev + 4);
  assert_int_equal (strlen (name), 2 * 101 - 1);
  /* 150 links: 301 bytes of name, over the limit. */
  for (int i = 0; i < 50; i++)
    {
      size_t here = c;
      chain[c++] = 1;
      chain[c++] = 'b';
      chain[c++] = (uint8_t) (0xc0 | (prev >> 8));
      chain[c++] = (uint8_t) prev;
      prev = here;
    }
  assert_int_equal (dns_name_decode (chain, c, prev, name, sizeof name, &next), -1);
  /* A small output buffer is never overrun. */
  uint8_t q1[64];
  size_t ql = make_query (q1, "abcdefgh.ijkl", DNS_TYPE_A, 0);
  assert_int_equal (dns_name_decode (q1, ql, DNS_HEADER_LEN, name, 8, &next), -1);
  assert_int_equal (dns_name_decode (q1, ql, DNS_HEADER_LEN, name, 14, &next), 0);
}

static void
test_name_encode (void **state)
{
  uint8_t out[300];
  assert_int_equal (dns_name_encode ("a.bc", out, sizeof out), 6);
  assert_memory_equal (out, "\x01" "a" "\x02" "bc" "\x00", 6);
  assert_int_equal (dns_name_encode ("a.bc.", out, sizeof out), 6);
  assert_int_equal (dns_name_encode ("", out, sizeof out), 1);
  assert_int_equal (dns_name_encode ("a..b", out, sizeof out), -1);
  assert_int_equal (dns_name_encode (".a", out, sizeof out), -1);
  assert_int_equal (dns_name_encode ("a..", out, sizeof out), -1);
  char label[70];
  memset (label, 'x', 64);
  label[64] = 0;
  assert_int_equal (dns_name_encode (label, out, sizeof out), -1);
  label[63] = 0;
  assert_int_equal (dns_name_encode (label, out, sizeof out), 65);
  assert_int_equal (dns_name_encode ("abc", out, 4), -1); /* no room for the root */
}

static void
test_response_build (void **state)
{
  uint8_t query[512], out[600];
  size_t len = make_query (query, "web", DNS_TYPE_A, 0);
  struct dns_query q;
  assert_int_equal (dns_query_parse (query, len, &q), DNS_PARSE_OK);
  uint32_t addrs[] = { 0xac110002, 0xac110003 };
  size_t n = dns_response_build (query, &q, DNS_RCODE_NOERROR, addrs, 2, NULL, 600, out, sizeof out);
  assert_int_equal (n, len + 2 * 16);
  assert_int_equal (out[0], 0x12);
  assert_true (out[2] & 0x80);           /* QR */
  assert_true (out[2] & 0x01);           /* RD copied */
  assert_false (out[2] & 0x02);          /* not truncated */
  assert_int_equal (out[3] & 0x0f, 0);   /* NOERROR */
  assert_int_equal (out[7], 2);          /* ANCOUNT */
  assert_memory_equal (out + len, "\xc0\x0c\x00\x01\x00\x01\x00\x00\x02\x58\x00\x04\xac\x11\x00\x02", 16);

  /* 40 answers do not fit 512 bytes: cut, TC set, count consistent. */
  uint32_t many[40];
  for (int i = 0; i < 40; i++)
    many[i] = 0x0a000000u + (uint32_t) i;
  n = dns_response_build (query, &q, DNS_RCODE_NOERROR, many, 40, NULL, 600, out, sizeof out);
  assert_true (n <= 512);
  assert_true (out[2] & 0x02);
  assert_int_equal ((size_t) out[7], (n - len) / 16);

  n = dns_response_build (query, &q, DNS_RCODE_NXDOMAIN, NULL, 0, NULL, 0, out, sizeof out);
  assert_int_equal (n, len);
  assert_int_equal (out[3] & 0x0f, DNS_RCODE_NXDOMAIN);

  n = dns_response_build (query, &q, DNS_RCODE_NOERROR, NULL, 0, "web.mynet", 600, out, sizeof out);
  assert_int_equal (n, len + 12 + 11);
  assert_int_equal (out[7], 1);

  n = dns_error_build (query, len, DNS_RCODE_FORMERR, out, sizeof out);
  assert_int_equal (n, DNS_HEADER_LEN);
  assert_int_equal (out[3] & 0x0f, DNS_RCODE_FORMERR);
  assert_int_equal (out[5], 0);
  assert_int_equal (dns_error_build (query, 2, DNS_RCODE_FORMERR, out, sizeof out), 0);
}

static void
test_ptr_names (void **state)
{
  uint32_t a;
  assert_true (dns_ptr_name_to_ipv4 ("2.0.17.172.in-addr.arpa", &a));
  assert_int_equal (a, 0xac110002);
  assert_true (dns_ptr_name_to_ipv4 ("2.0.17.172.IN-ADDR.ARPA", &a));
  assert_false (dns_ptr_name_to_ipv4 ("2.0.17.in-addr.arpa", &a));
  assert_false (dns_ptr_name_to_ipv4 ("2.0.17.300.in-addr.arpa", &a));
  assert_false (dns_ptr_name_to_ipv4 ("2.0.17.172.in-addr.arpa.evil", &a));
  assert_false (dns_ptr_name_to_ipv4 ("web", &a));
}

/* Random and mutated packets: the parser must never read out of bounds
 * (ASan checks) and must always terminate. */
static void
test_random_garbage (void **state)
{
  uint8_t seed[64];
  size_t base_len = make_query (seed, "web.net", DNS_TYPE_A, 1232);
  for (int round = 0; round < 20000; round++)
    {
      uint8_t pkt[80];
      uint32_t r[4];
      if (getrandom (r, sizeof r, 0) != sizeof r)
        abort ();
      size_t len = r[0] % sizeof pkt;
      if (round % 2)
        {
          memcpy (pkt, seed, base_len);
          len = base_len;
          pkt[r[1] % base_len] = (uint8_t) r[2]; /* flip one byte */
          pkt[r[2] % base_len] = (uint8_t) r[3];
          len = r[3] % 3 == 0 ? r[1] % (base_len + 1) : base_len;
        }
      else if (getrandom (pkt, len, 0) != (ssize_t) len)
        abort ();
      /* Exact-size heap copy so ASan sees any over-read. */
      uint8_t *heap = malloc (len ? len : 1);
      memcpy (heap, pkt, len);
      struct dns_query q;
      if (dns_query_parse (heap, len, &q) == DNS_PARSE_OK)
        {
          uint8_t out[600];
          uint32_t a = 1;
          assert_true (dns_response_build (heap, &q, 0, &a, 1, NULL, 1, out, sizeof out) <= 512
                       || q.udp_size > 512);
        }
      free (heap);
    }
}

int
main (void)
{
  const struct CMUnitTest tests[] = {
    cmocka_unit_test (test_parse_query),    cmocka_unit_test (test_hostile_packets),
    cmocka_unit_test (test_name_encode),    cmocka_unit_test (test_response_build),
    cmocka_unit_test (test_ptr_names),      cmocka_unit_test (test_random_garbage),
  };
  return cmocka_run_group_tests (tests, NULL, NULL);
}
