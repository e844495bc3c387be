// Finding the base64 attachments an invoice embeds, so that libxml2 need not parse them.
//
// An invoice may carry whole documents as base64 (UBL cbc:EmbeddedDocumentBinaryObject, CII
// ram:AttachmentBinaryObject, BT-125): often most of its bytes. Nothing reads their content
// (only the mimeCode and filename attributes), yet libxml2 scans each byte, copies it into a
// text node and keeps it in the tree. A run found here is handed to libxml2 as "AAAA" plus its
// line ends instead, which changes nothing libxml2 or the rules can tell:
// - only runs that are strictly valid base64 (alphabet, then at most two '=' with zero unused
//   bits) and nothing else, from the start tag's '>' to its own end tag "</", are taken, so the
//   XSD type base64Binary of both elements accepts the run and "AAAA" alike;
// - line ends are kept, so every error line after the run is the same;
// - a run inside a CDATA section (text, not an element) is never taken; one inside a comment or
//   a processing instruction may be, and changes nothing there.
// Whatever is not sure is left alone: not taking a run is always correct.
#define _GNU_SOURCE
#include <stddef.h>
#include <string.h>
#include "flux_xml.h"
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

/// Runs shorter than this are parsed as they are: not worth a second look.
#define FLUX_ELIDE_MIN 4096
/// A start tag longer than this (its attributes) is left alone.
#define FLUX_ELIDE_TAG_MAX 4096

static int b64_value(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/// How many of the bytes at `p` (at most `n`) are base64 alphabet, from the first: 16 at a time
/// where SSE2 is there.
static size_t b64_prefix(const unsigned char *p, size_t n) {
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i A1 = _mm_set1_epi8('A' - 1), Z1 = _mm_set1_epi8('Z' + 1);
    const __m128i a1 = _mm_set1_epi8('a' - 1), z1 = _mm_set1_epi8('z' + 1);
    const __m128i d1 = _mm_set1_epi8('0' - 1), d2 = _mm_set1_epi8('9' + 1);
    const __m128i plus = _mm_set1_epi8('+'), slash = _mm_set1_epi8('/');
    for (; i + 16 <= n; i += 16) {
        // Signed compares: bytes >= 0x80 are negative and match no range.
        __m128i v = _mm_loadu_si128((const __m128i *)(p + i));
        __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, A1), _mm_cmpgt_epi8(Z1, v));
        __m128i lo = _mm_and_si128(_mm_cmpgt_epi8(v, a1), _mm_cmpgt_epi8(z1, v));
        __m128i dg = _mm_and_si128(_mm_cmpgt_epi8(v, d1), _mm_cmpgt_epi8(d2, v));
        __m128i ps = _mm_or_si128(_mm_cmpeq_epi8(v, plus), _mm_cmpeq_epi8(v, slash));
        int mask = _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(up, lo), _mm_or_si128(dg, ps)));
        if (mask != 0xFFFF) return i + (size_t)__builtin_ctz(~mask & 0xFFFF);
    }
#endif
    while (i < n && b64_value(p[i]) >= 0) i++;
    return i;
}

/// Checks the run from `p` up to the next '<': returns its length and line ends through the
/// pointers and 1 when it is strict base64 followed by "</", else 0.
static int b64_run(const unsigned char *p, size_t n, size_t *length, unsigned *lines) {
    size_t i = 0, count = 0, pad = 0;
    unsigned nl = 0;
    int last = -1;
    while (i < n) {
        size_t k = pad ? 0 : b64_prefix(p + i, n - i);
        if (k > 0) {
            count += k;
            i += k;
            last = b64_value(p[i - 1]);
            continue;
        }
        unsigned char c = p[i];
        if (c == '\n') { nl++; i++; continue; }
        if (c == ' ' || c == '\t') { i++; continue; }
        // "\r\n" is one line end to libxml2; a lone '\r' is left to libxml2 to count.
        if (c == '\r' && i + 1 < n && p[i + 1] == '\n') { i++; continue; }
        if (c == '=' && count > 0 && pad < 2) { pad++; i++; continue; }
        if (c == '<') break;
        return 0;
    }
    if (i + 1 >= n || p[i + 1] != '/') return 0;  // mixed content, or the document ends
    if (pad == 0 && count % 4 != 0) return 0;
    if (pad == 1 && (count % 4 != 3 || (last & ~0x3c) != 0)) return 0;
    if (pad == 2 && (count % 4 != 2 || (last & ~0x30) != 0)) return 0;
    if (count == 0) return 0;
    *length = i;
    *lines = nl;
    return 1;
}

static int name_char(unsigned char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.';
}

/// If `name` (the local name's position, of `name_len` bytes) starts an element's start tag,
/// returns the offset just past the tag's '>' (an element with content), else 0.
static size_t start_tag_end(const unsigned char *base, size_t size, size_t name, size_t name_len) {
    if (name == 0) return 0;
    size_t lt = name - 1;
    if (base[lt] == ':') {
        // A prefix: ASCII name characters, starting with a letter or '_', then '<'.
        size_t q = lt;
        while (q > 0 && lt - q < 64 && name_char(base[q - 1])) q--;
        if (q == lt || q == 0 || base[q - 1] != '<') return 0;
        unsigned char first = base[q];
        if (!((first >= 'A' && first <= 'Z') || (first >= 'a' && first <= 'z') || first == '_')) return 0;
        lt = q - 1;
    } else if (base[lt] != '<') {
        return 0;
    }
    size_t i = name + name_len;
    if (i >= size) return 0;
    if (base[i] != '>' && base[i] != ' ' && base[i] != '\t' && base[i] != '\n' && base[i] != '\r') return 0;
    unsigned char quote = 0;
    for (size_t end = i + FLUX_ELIDE_TAG_MAX < size ? i + FLUX_ELIDE_TAG_MAX : size; i < end; i++) {
        unsigned char c = base[i];
        if (quote) { if (c == quote) quote = 0; else if (c == '<') return 0; continue; }
        if (c == '"' || c == '\'') { quote = c; continue; }
        if (c == '<') return 0;
        if (c == '>') return base[i - 1] == '/' ? 0 : i + 1;
    }
    return 0;
}

/// Whether offset `at` lies inside a CDATA section, scanning forward from `*scan` (kept between
/// calls with increasing `at`). A "<![CDATA[" inside a comment counts too: it only makes this
/// say yes where it need not.
static int inside_cdata(const unsigned char *base, size_t size, size_t *scan, size_t at) {
    static const char open[] = "<![CDATA[", close[] = "]]>";
    while (*scan < at) {
        const unsigned char *o = memmem(base + *scan, at - *scan, open, sizeof open - 1);
        if (o == NULL) { *scan = at; return 0; }
        size_t from = (size_t)(o - base) + sizeof open - 1;
        const unsigned char *c = memmem(base + from, size - from, close, sizeof close - 1);
        if (c == NULL || (size_t)(c - base) >= at) { *scan = (size_t)(o - base); return 1; }
        *scan = (size_t)(c - base) + sizeof close - 1;
    }
    return 0;
}

size_t flux_xml_find_attachments(const char *document, size_t size, struct flux_xml_elision *out, size_t max) {
    static const char needle[] = "BinaryObject";
    static const struct { const char *prefix; size_t len; } names[] = {
        { "EmbeddedDocument", 16 }, { "Attachment", 10 },
    };
    const unsigned char *base = (const unsigned char *)document;
    size_t found = 0, from = 0, cdata_scan = 0;
    while (found < max && from < size) {
        const unsigned char *hit = memmem(base + from, size - from, needle, sizeof needle - 1);
        if (hit == NULL) break;
        size_t at = (size_t)(hit - base);
        from = at + sizeof needle - 1;
        size_t content = 0, name = 0;
        for (size_t k = 0; k < sizeof names / sizeof names[0] && content == 0; k++) {
            size_t len = names[k].len;
            if (at >= len && memcmp(base + at - len, names[k].prefix, len) == 0) {
                name = at - len;
                content = start_tag_end(base, size, name, len + sizeof needle - 1);
            }
        }
        if (content == 0) continue;
        size_t length = 0;
        unsigned lines = 0;
        if (!b64_run(base + content, size - content, &length, &lines)) continue;
        from = content + length;
        if (length < FLUX_ELIDE_MIN) continue;
        if (inside_cdata(base, size, &cdata_scan, name)) continue;
        out[found].start = content;
        out[found].end = content + length;
        out[found].lines = lines;
        found++;
    }
    return found;
}
