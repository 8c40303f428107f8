#ifndef CCURL_H
#define CCURL_H
#include <curl/curl.h>

/* curl_easy_setopt, curl_easy_getinfo and curl_multi_setopt are C variadic functions, which Swift
   does not import. These typed static-inline wrappers are imported by the Clang importer and
   generated into the Swift module that calls them: no separate C target is needed. Each one
   passes exactly the C type libcurl documents for that option. */

static inline CURLcode ccurl_easy_setopt_long(CURL *h, CURLoption o, long v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_off(CURL *h, CURLoption o, curl_off_t v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_str(CURL *h, CURLoption o, const char *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_ptr(CURL *h, CURLoption o, void *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_slist(CURL *h, CURLoption o, struct curl_slist *v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_write_cb(CURL *h, CURLoption o, curl_write_callback v) { return curl_easy_setopt(h, o, v); }
static inline CURLcode ccurl_easy_setopt_read_cb(CURL *h, CURLoption o, curl_read_callback v) { return curl_easy_setopt(h, o, v); }

static inline CURLcode ccurl_easy_getinfo_long(CURL *h, CURLINFO i, long *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_easy_getinfo_double(CURL *h, CURLINFO i, double *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_easy_getinfo_off(CURL *h, CURLINFO i, curl_off_t *v) { return curl_easy_getinfo(h, i, v); }
static inline CURLcode ccurl_easy_getinfo_ptr(CURL *h, CURLINFO i, void **v) { return curl_easy_getinfo(h, i, v); }

static inline CURLMcode ccurl_multi_setopt_long(CURLM *m, CURLMoption o, long v) { return curl_multi_setopt(m, o, v); }

/* A request body that libcurl reads in place (POSTFIELDSIZE_LARGE, then POSTFIELDS, no copy): the
   bytes must stay valid until the handle is removed from its multi handle. An empty body is still a
   body: with a NULL pointer libcurl would fall back to its read callback, which reads stdin. */
static inline CURLcode ccurl_easy_set_body(CURL *h, const void *bytes, curl_off_t size) {
    CURLcode rc = curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, size);
    if (rc != CURLE_OK) return rc;
    return curl_easy_setopt(h, CURLOPT_POSTFIELDS, (size > 0 && bytes) ? bytes : (const void *)"");
}

/* CURLOPT_ERRORBUFFER: a caller-owned buffer of at least CURL_ERROR_SIZE bytes. */
static inline CURLcode ccurl_easy_setopt_errorbuffer(CURL *h, char *buffer) { return curl_easy_setopt(h, CURLOPT_ERRORBUFFER, buffer); }

/* CURL_ERROR_SIZE is a macro; a function makes its value visible to Swift whatever the importer does with macros. */
static inline int ccurl_error_size(void) { return CURL_ERROR_SIZE; }

#endif
