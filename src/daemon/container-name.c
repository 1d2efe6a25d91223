/* Container names: docker's validation rule ([a-zA-Z0-9][a-zA-Z0-9_.-]+,
 * stored with a leading "/") and its generated adjective_surname names, so
 * `docker ps` looks the same against berthd as against dockerd. */
#include "daemon/container.h"

#include <string.h>
#include <sys/random.h>

bool
container_name_is_valid (const char *name)
{
  if (name == NULL)
    return false;
  if (name[0] == '/')
    name++;
  /* moby's RestrictedNamePattern: ^/?[a-zA-Z0-9][a-zA-Z0-9_.-]+$ */
  size_t n = strlen (name);
  if (n < 2)
    return false;
  for (size_t i = 0; i < n; i++)
    {
      char c = name[i];
      bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
      if (i == 0 && !alnum)
        return false;
      if (!alnum && c != '_' && c != '.' && c != '-')
        return false;
    }
  return true;
}

char *
container_name_normalize (const char *name, struct berth_error **err)
{
  if (!container_name_is_valid (name))
    {
      berth_error_set_kind (
          err, BERTH_E_INVALID, 0,
          "Invalid container name (%s), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
          name ? name : "");
      return NULL;
    }
  return name[0] == '/' ? xstrdup (name) : xasprintf ("/%s", name);
}

/* A subset of moby's pkg/namesgenerator lists: the same flavour of names. */
static const char *const adjectives[] = {
  "admiring",      "adoring",   "affectionate", "agitated",   "amazing",       "angry",
  "awesome",       "beautiful", "blissful",     "bold",       "boring",        "brave",
  "busy",          "charming",  "clever",       "cool",       "compassionate", "competent",
  "condescending", "confident", "cranky",       "crazy",      "dazzling",      "determined",
  "distracted",    "dreamy",    "eager",        "ecstatic",   "elastic",       "elated",
  "elegant",       "eloquent",  "epic",         "exciting",   "fervent",       "festive",
  "flamboyant",    "focused",   "friendly",     "frosty",     "funny",         "gallant",
  "gifted",        "goofy",     "gracious",     "great",      "happy",         "hardcore",
  "heuristic",     "hopeful",   "hungry",       "infallible", "inspiring",     "intelligent",
  "interesting",   "jolly",     "jovial",       "keen",       "kind",          "laughing",
  "loving",        "lucid",     "magical",      "modest",     "musing",        "mystifying",
  "naughty",       "nervous",   "nice",         "nifty",      "nostalgic",     "objective",
  "optimistic",    "peaceful",  "pedantic",     "pensive",    "practical",     "priceless",
  "quirky",        "quizzical", "recursing",    "relaxed",    "reverent",      "romantic",
  "sad",           "serene",    "sharp",        "silly",      "sleepy",        "stoic",
  "strange",       "stupefied", "suspicious",   "sweet",      "tender",        "thirsty",
  "trusting",      "unruffled", "upbeat",       "vibrant",    "vigilant",      "vigorous",
  "wizardly",      "wonderful", "xenodochial",  "youthful",   "zealous",       "zen",
};

static const char *const surnames[] = {
  "agnesi",      "albattani",  "allen",         "almeida",      "archimedes", "ardinghelli",
  "aryabhata",   "austin",     "babbage",       "banach",       "bardeen",    "bartik",
  "bassi",       "bell",       "benz",          "bhabha",       "black",      "blackwell",
  "bohr",        "booth",      "borg",          "bose",         "boyd",       "brahmagupta",
  "brattain",    "brown",      "buck",          "burnell",      "cannon",     "carson",
  "cartwright",  "cerf",       "chandrasekhar", "chatelet",     "chebyshev",  "cohen",
  "colden",      "cori",       "cray",          "curie",        "darwin",     "davinci",
  "dijkstra",    "dubinsky",   "easley",        "edison",       "einstein",   "elion",
  "engelbart",   "euclid",     "euler",         "fermat",       "fermi",      "feynman",
  "franklin",    "galileo",    "gates",         "goldberg",     "goldstine",  "golick",
  "goodall",     "hamilton",   "hawking",       "heisenberg",   "hermann",    "hodgkin",
  "hoover",      "hopper",     "hypatia",       "jackson",      "jang",       "jennings",
  "jepsen",      "johnson",    "joliot",        "jones",        "kalam",      "keller",
  "kepler",      "khorana",    "kilby",         "kirch",        "knuth",      "kowalevski",
  "lalande",     "lamarr",     "lamport",       "leakey",       "leavitt",    "lehmann",
  "lewin",       "lichterman", "liskov",        "lovelace",     "lumiere",    "mahavira",
  "margulis",    "matsumoto",  "maxwell",       "mayer",        "mccarthy",   "mcclintock",
  "mclean",      "meitner",    "mendel",        "merkle",       "minsky",     "mirzakhani",
  "morse",       "murdock",    "napier",        "nash",         "neumann",    "newton",
  "nobel",       "noether",    "northcutt",     "noyce",        "panini",     "pare",
  "pascal",      "pasteur",    "payne",         "perlman",      "pike",       "poincare",
  "poitras",     "ptolemy",    "raman",         "ramanujan",    "ride",       "ritchie",
  "roentgen",    "rosalind",   "saha",          "sammet",       "shannon",    "shaw",
  "shirley",     "shockley",   "sinoussi",      "snyder",       "spence",     "stallman",
  "stonebraker", "swanson",    "swartz",        "swirles",      "tesla",      "thompson",
  "torvalds",    "turing",     "varahamihira",  "visvesvaraya", "volhard",    "wescoff",
  "wiles",       "williams",   "wilson",        "wing",         "wozniak",    "wright",
  "wu",          "yalow",      "yonath",
};

static uint32_t
random_below (uint32_t n)
{
  uint32_t r = 0;
  if (getrandom (&r, sizeof r, 0) != (ssize_t)sizeof r)
    r = (uint32_t)time_now_ns ();
  return r % n;
}

char *
container_name_generate (unsigned retry)
{
  size_t na = sizeof adjectives / sizeof adjectives[0];
  size_t ns = sizeof surnames / sizeof surnames[0];
  for (;;)
    {
      const char *a = adjectives[random_below ((uint32_t)na)];
      const char *s = surnames[random_below ((uint32_t)ns)];
      /* Steve Wozniak is not boring (moby's own exception). */
      if (strcmp (a, "boring") == 0 && strcmp (s, "wozniak") == 0)
        continue;
      if (retry > 0)
        return xasprintf ("/%s_%s%u", a, s, random_below (10));
      return xasprintf ("/%s_%s", a, s);
    }
}
