// timegm() is a BSD/GNU extension; glibc declares it only with _DEFAULT_SOURCE under -std=c11.
#define _DEFAULT_SOURCE 1
#include "flux_openssl.h"

#include <time.h>
#include <openssl/bn.h>
#include <openssl/buffer.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

long flux_BIO_get_mem_data(BIO *bio, const uint8_t **data) {
    char *p = NULL;
    long n = BIO_get_mem_data(bio, &p);
    *data = (const uint8_t *)p;
    return n;
}

BIO *flux_BIO_new_mem_reserved(size_t capacity) {
    BIO *bio = BIO_new(BIO_s_mem());
    if (bio == NULL || capacity == 0) return bio;
    BUF_MEM *buf = BUF_MEM_new();
    if (buf == NULL) return bio;
    if (BUF_MEM_grow(buf, capacity) == 0) {
        BUF_MEM_free(buf);
        return bio;
    }
    buf->length = 0;
    BIO_set_mem_buf(bio, buf, BIO_CLOSE);
    return bio;
}

EVP_PKEY *flux_EVP_RSA_gen(unsigned int bits) {
    return EVP_RSA_gen(bits);
}

EVP_PKEY *flux_EVP_EC_gen_p256(void) {
    return EVP_EC_gen("P-256");
}

static int flux_refuse_password(char *buf, int size, int rwflag, void *u) {
    (void)buf; (void)size; (void)rwflag; (void)u;
    return -1;
}

EVP_PKEY *flux_PEM_read_bio_PrivateKey_nopass(BIO *bio) {
    return PEM_read_bio_PrivateKey(bio, NULL, flux_refuse_password, NULL);
}

int flux_ERR_last_is_pem_no_start_line(void) {
    unsigned long e = ERR_peek_last_error();
    return ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE;
}

int flux_X509_NAME_print_rfc2253(BIO *out, const X509_NAME *name) {
    return X509_NAME_print_ex(out, name, 0, XN_FLAG_RFC2253);
}

int flux_X509_NAME_add_utf8(X509_NAME *name, const char *field, const char *value) {
    return X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                                      (const unsigned char *)value, -1, -1, 0);
}

int flux_X509_set_random_serial(X509 *cert, int bits) {
    BIGNUM *bn = BN_new();
    int ok = 0;
    if (bn == NULL) return 0;
    // BN_RAND_TOP_ANY keeps the full range; retry the (2^-bits likely) zero, which RFC 5280 forbids.
    do {
        if (!BN_rand(bn, bits, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY)) goto done;
    } while (BN_is_zero(bn));
    ok = BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(cert)) != NULL;
done:
    BN_free(bn);
    return ok;
}

int flux_X509_add_ext_text(X509 *cert, X509 *issuer, int nid, const char *value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, issuer, cert, NULL, NULL, 0);
    X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx, nid, value);
    if (ext == NULL) return 0;
    int ok = X509_add_ext(cert, ext, -1);
    X509_EXTENSION_free(ext);
    return ok;
}

static int flux_asn1_time_unix(const ASN1_TIME *t, int64_t *out) {
    struct tm tm;
    if (t == NULL || !ASN1_TIME_to_tm(t, &tm)) return 0;
    *out = (int64_t)timegm(&tm);
    return 1;
}

int flux_X509_validity_unix(const X509 *cert, int64_t *not_before, int64_t *not_after) {
    return flux_asn1_time_unix(X509_get0_notBefore(cert), not_before)
        && flux_asn1_time_unix(X509_get0_notAfter(cert), not_after);
}

STACK_OF(X509) *flux_sk_X509_new_null(void) {
    return sk_X509_new_null();
}

int flux_sk_X509_push(STACK_OF(X509) *stack, X509 *cert) {
    return sk_X509_push(stack, cert);
}

void flux_sk_X509_free(STACK_OF(X509) *stack) {
    sk_X509_free(stack);
}

int flux_sk_X509_num(const STACK_OF(X509) *stack) {
    return sk_X509_num(stack);
}

X509 *flux_sk_X509_value(const STACK_OF(X509) *stack, int index) {
    return sk_X509_value(stack, index);
}

void flux_sk_X509_pop_free(STACK_OF(X509) *stack) {
    sk_X509_pop_free(stack, X509_free);
}

int flux_sk_CMS_RecipientInfo_num(STACK_OF(CMS_RecipientInfo) *stack) {
    return stack == NULL ? 0 : sk_CMS_RecipientInfo_num(stack);
}

CMS_RecipientInfo *flux_sk_CMS_RecipientInfo_value(STACK_OF(CMS_RecipientInfo) *stack, int index) {
    return stack == NULL ? NULL : sk_CMS_RecipientInfo_value(stack, index);
}

int flux_sk_CMS_SignerInfo_num(STACK_OF(CMS_SignerInfo) *stack) {
    return stack == NULL ? 0 : sk_CMS_SignerInfo_num(stack);
}

CMS_SignerInfo *flux_sk_CMS_SignerInfo_value(STACK_OF(CMS_SignerInfo) *stack, int index) {
    return stack == NULL ? NULL : sk_CMS_SignerInfo_value(stack, index);
}

int flux_ERR_last_is(int lib, int reason) {
    unsigned long e = ERR_peek_last_error();
    return e != 0 && ERR_GET_LIB(e) == lib && ERR_GET_REASON(e) == reason;
}
