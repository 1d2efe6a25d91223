/* The embedded DNS server's view of a packet from a container
 * (dns_query_parse, dns_name_decode with compression pointers), then the
 * answer it would send (dns_response_build / dns_error_build) into a
 * buffer of exactly the advertised size. The input is one UDP payload. */
#include "fuzz-common.h"
#include "network/dns-msg.h"

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
  /* A private copy so reads past the packet are caught by ASan. */
  uint8_t *msg = malloc (size ? size : 1);
  memcpy (msg, data, size);

  struct dns_query q;
  enum dns_parse_result r = dns_query_parse (msg, size, &q);
  uint8_t out[4096];
  if (r == DNS_PARSE_OK)
    {
      FUZZ_ASSERT (q.question_end <= size);
      FUZZ_ASSERT (memchr (q.name, '\0', sizeof q.name) != NULL);
      FUZZ_ASSERT (q.udp_size >= DNS_UDP_MAX);
      uint32_t addrs[40];
      for (uint32_t i = 0; i < 40; i++)
        addrs[i] = 0x0a000002 + i;
      size_t cap = q.udp_size < sizeof out ? q.udp_size : sizeof out;
      uint8_t *answer = malloc (cap);
      size_t n = dns_response_build (msg, &q, DNS_RCODE_NOERROR, addrs, 40, NULL, 600, answer, cap);
      FUZZ_ASSERT (n <= cap);
      n = dns_response_build (msg, &q, DNS_RCODE_NOERROR, NULL, 0, "web.berth-net", 600, answer,
                              cap);
      FUZZ_ASSERT (n <= cap);
      /* Read back the question we copied into the answer. */
      char name[DNS_NAME_TEXT_MAX];
      size_t next = 0;
      if (n > DNS_HEADER_LEN)
        (void) dns_name_decode (answer, n, DNS_HEADER_LEN, name, sizeof name, &next);
      free (answer);
      /* Re-encode the parsed name when it is plain text. */
      uint8_t wire[DNS_NAME_WIRE_MAX + 1];
      (void) dns_name_encode (q.name, wire, sizeof wire);
    }
  else if (r == DNS_PARSE_FORMERR || r == DNS_PARSE_NOTIMP)
    {
      size_t n = dns_error_build (msg, size, r == DNS_PARSE_FORMERR ? DNS_RCODE_FORMERR
                                                                      : DNS_RCODE_NOTIMP,
                                  out, sizeof out);
      FUZZ_ASSERT (n <= sizeof out);
    }
  /* Names anywhere in the packet (answers and authority sections too). */
  for (size_t off = DNS_HEADER_LEN; off < size && off < DNS_HEADER_LEN + 64; off++)
    {
      char name[DNS_NAME_TEXT_MAX];
      size_t next = 0;
      if (dns_name_decode (msg, size, off, name, sizeof name, &next) == 0)
        FUZZ_ASSERT (next > off && next <= size);
    }
  free (msg);
  return 0;
}
