/* DNS wire format for the embedded server: query parsing and answer
 * encoding, bounds-checked on every byte (dns-msg.h says what is refused). */
#include "network/dns-msg.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

static uint16_t
get16 (const uint8_t *p)
{
  return (uint16_t) (p[0] << 8 | p[1]);
}

static void
put16 (uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t) (v >> 8);
  p[1] = (uint8_t) v;
}

static void
put32 (uint8_t *p, uint32_t v)
{
  put16 (p, (uint16_t) (v >> 16));
  put16 (p + 2, (uint16_t) v);
}

static bool
name_char_is_plain (uint8_t c)
{
  return isalnum (c) || c == '-' || c == '_';
}

int
dns_name_decode (const uint8_t *msg, size_t len, size_t off, char *out, size_t out_cap,
                 size_t *next)
{
  size_t pos = off, text = 0, wire = 0;
  size_t lowest = off; /* a pointer must go below every position seen */
  bool jumped = false;
  if (out_cap == 0)
    return -1;
  for (;;)
    {
      if (pos >= len)
        return -1;
      uint8_t l = msg[pos];
      if ((l & 0xc0) == 0xc0)
        {
          if (pos + 1 >= len)
            return -1;
          size_t target = (size_t) ((l & 0x3f) << 8 | msg[pos + 1]);
          if (target >= lowest)
            return -1; /* forward or self pointer: the loop guard */
          if (!jumped)
            *next = pos + 2;
          jumped = true;
          lowest = target;
          pos = target;
          continue;
        }
      if (l & 0xc0)
        return -1; /* 0x40/0x80: extended/reserved label types */
      wire += (size_t) l + 1;
      if (wire > DNS_NAME_WIRE_MAX)
        return -1;
      if (l == 0)
        {
          if (!jumped)
            *next = pos + 1;
          out[text] = '\0';
          return 0;
        }
      if (pos + 1 + l > len)
        return -1;
      if (text > 0)
        {
          if (text + 1 >= out_cap)
            return -1;
          out[text++] = '.';
        }
      for (size_t i = 0; i < l; i++)
        {
          uint8_t c = msg[pos + 1 + i];
          if (name_char_is_plain (c))
            {
              if (text + 1 >= out_cap)
                return -1;
              out[text++] = (char) c;
            }
          else
            {
              if (text + 4 >= out_cap)
                return -1;
              snprintf (out + text, 5, "\\%03u", c);
              text += 4;
            }
        }
      pos += 1 + l;
    }
}

int
dns_name_encode (const char *name, uint8_t *out, size_t cap)
{
  size_t n = strlen (name), w = 0;
  if (n > 0 && name[n - 1] == '.')
    n--;
  size_t i = 0;
  while (i < n)
    {
      size_t j = i;
      while (j < n && name[j] != '.')
        j++;
      size_t l = j - i;
      if (l == 0 || l > DNS_LABEL_MAX || w + 1 + l + 1 > cap || w + 1 + l + 1 > DNS_NAME_WIRE_MAX)
        return -1;
      out[w++] = (uint8_t) l;
      memcpy (out + w, name + i, l);
      w += l;
      i = j + 1;
      if (j < n && j + 1 == n)
        return -1; /* "a..": an empty label at the end */
    }
  if (w + 1 > cap)
    return -1;
  out[w++] = 0;
  return (int) w;
}

/* Skip one resource record; returns the offset after it or 0. */
static size_t
dns_rr_skip (const uint8_t *msg, size_t len, size_t off, uint16_t *type, uint16_t *class)
{
  char name[DNS_NAME_TEXT_MAX];
  size_t next = 0;
  if (dns_name_decode (msg, len, off, name, sizeof name, &next) < 0 || next + 10 > len)
    return 0;
  *type = get16 (msg + next);
  *class = get16 (msg + next + 2);
  size_t rdlen = get16 (msg + next + 8);
  if (next + 10 + rdlen > len)
    return 0;
  return next + 10 + rdlen;
}

enum dns_parse_result
dns_query_parse (const uint8_t *msg, size_t len, struct dns_query *q)
{
  memset (q, 0, sizeof *q);
  if (len < DNS_HEADER_LEN)
    return DNS_PARSE_DROP;
  q->id = get16 (msg);
  q->flags = get16 (msg + 2);
  if (q->flags & 0x8000)
    return DNS_PARSE_DROP; /* a response: never answer those (reflection loops) */
  if (((q->flags >> 11) & 0xf) != 0)
    return DNS_PARSE_NOTIMP;
  uint16_t qd = get16 (msg + 4), an = get16 (msg + 6), ns = get16 (msg + 8),
           ar = get16 (msg + 10);
  if (qd != 1)
    return DNS_PARSE_FORMERR;
  size_t next = 0;
  if (dns_name_decode (msg, len, DNS_HEADER_LEN, q->name, sizeof q->name, &next) < 0)
    return DNS_PARSE_FORMERR;
  if (next + 4 > len)
    return DNS_PARSE_FORMERR;
  q->qtype = get16 (msg + next);
  q->qclass = get16 (msg + next + 2);
  q->question_end = next + 4;
  q->udp_size = DNS_UDP_MAX;

  /* Look for an EDNS OPT record; a malformed tail only costs EDNS. */
  size_t off = q->question_end;
  for (unsigned i = 0; i < (unsigned) an + ns + ar && off != 0 && off < len; i++)
    {
      uint16_t type = 0, class = 0;
      off = dns_rr_skip (msg, len, off, &type, &class);
      if (off != 0 && type == DNS_TYPE_OPT && i >= (unsigned) an + ns)
        q->udp_size = class < DNS_UDP_MAX ? DNS_UDP_MAX : class;
    }
  return DNS_PARSE_OK;
}

static size_t
dns_header_build (uint8_t *out, uint16_t id, uint16_t qflags, int rcode, uint16_t qd, uint16_t an)
{
  put16 (out, id);
  /* QR, the query's opcode and RD, AA (we are the authority for our names),
   * RA (we recurse through the upstreams). */
  uint16_t flags = 0x8000 | (qflags & 0x7900) | 0x0400 | 0x0080 | (uint16_t) (rcode & 0xf);
  put16 (out + 2, flags);
  put16 (out + 4, qd);
  put16 (out + 6, an);
  put16 (out + 8, 0);
  put16 (out + 10, 0);
  return DNS_HEADER_LEN;
}

size_t
dns_response_build (const uint8_t *query, const struct dns_query *q, int rcode,
                    const uint32_t *addrs, size_t n_addrs, const char *ptr_target, uint32_t ttl,
                    uint8_t *out, size_t cap)
{
  size_t limit = q->udp_size < cap ? q->udp_size : cap;
  size_t qlen = q->question_end - DNS_HEADER_LEN;
  if (DNS_HEADER_LEN + qlen > limit)
    return 0;
  dns_header_build (out, q->id, q->flags, rcode, 1, 0);
  memcpy (out + DNS_HEADER_LEN, query + DNS_HEADER_LEN, qlen);
  size_t w = q->question_end;
  uint16_t an = 0;
  bool truncated = false;
  if (ptr_target)
    {
      uint8_t name[DNS_NAME_WIRE_MAX];
      int nl = dns_name_encode (ptr_target, name, sizeof name);
      if (nl > 0 && w + 12 + (size_t) nl <= limit)
        {
          put16 (out + w, 0xc000 | DNS_HEADER_LEN); /* the question's name */
          put16 (out + w + 2, DNS_TYPE_PTR);
          put16 (out + w + 4, DNS_CLASS_IN);
          put32 (out + w + 6, ttl);
          put16 (out + w + 10, (uint16_t) nl);
          memcpy (out + w + 12, name, (size_t) nl);
          w += 12 + (size_t) nl;
          an++;
        }
      else
        truncated = nl > 0;
    }
  for (size_t i = 0; i < n_addrs; i++)
    {
      if (w + 16 > limit)
        {
          truncated = true;
          break;
        }
      put16 (out + w, 0xc000 | DNS_HEADER_LEN);
      put16 (out + w + 2, DNS_TYPE_A);
      put16 (out + w + 4, DNS_CLASS_IN);
      put32 (out + w + 6, ttl);
      put16 (out + w + 10, 4);
      put32 (out + w + 12, addrs[i]);
      w += 16;
      an++;
    }
  put16 (out + 6, an);
  if (truncated)
    out[2] |= 0x02;
  return w;
}

size_t
dns_error_build (const uint8_t *query, size_t len, int rcode, uint8_t *out, size_t cap)
{
  if (len < 4 || cap < DNS_HEADER_LEN)
    return 0;
  return dns_header_build (out, get16 (query), get16 (query + 2), rcode, 0, 0);
}

bool
dns_ptr_name_to_ipv4 (const char *name, uint32_t *addr)
{
  unsigned o[4];
  int n = 0;
  char tail[32];
  if (sscanf (name, "%3u.%3u.%3u.%3u.%31s%n", &o[3], &o[2], &o[1], &o[0], tail, &n) != 5)
    return false;
  if (strcasecmp (tail, "in-addr.arpa") != 0 || name[n] != '\0')
    return false;
  for (int i = 0; i < 4; i++)
    if (o[i] > 255)
      return false;
  *addr = o[0] << 24 | o[1] << 16 | o[2] << 8 | o[3];
  return true;
}
