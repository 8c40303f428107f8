#ifndef CKAFKA_H
#define CKAFKA_H
#include <librdkafka/rdkafka.h>

/* rd_kafka_producev is a C variadic function, which Swift does not import. This typed
   static-inline wrapper fills the rd_kafka_vu_t array of rd_kafka_produceva instead; the Clang
   importer generates it into the calling Swift module, so no separate C target is needed.

   The key, value and header bytes are copied (RD_KAFKA_MSG_F_COPY): the caller's buffers may go
   away as soon as this returns. With `block` set, the call waits while the producer's queue is
   full (RD_KAFKA_MSG_F_BLOCK), which is safe only because a dedicated thread serves delivery
   reports; it must never be called on Swift's cooperative pool.

   `headers` (may be NULL) is owned by librdkafka once this succeeds; on failure it is destroyed
   here, so the caller never frees it. `timestamp_ms` <= 0 lets librdkafka stamp the record.
   `partition` is RD_KAFKA_PARTITION_UA (-1) to let librdkafka's partitioner choose. A record with
   `has_key` 0 has a null key; an empty value or key (size 0, maybe a NULL pointer) stays empty,
   not null, because a null value is a tombstone in Kafka. Returns NULL
   on success or an error the caller must destroy with rd_kafka_error_destroy. */
static inline rd_kafka_error_t *ckafka_produce(rd_kafka_t *rk, const char *topic, int32_t partition,
                                               int has_key, const void *key, size_t key_size,
                                               const void *value, size_t value_size,
                                               rd_kafka_headers_t *headers, int64_t timestamp_ms,
                                               void *opaque, int block) {
    rd_kafka_vu_t vus[8];
    size_t n = 0;
    vus[n].vtype = RD_KAFKA_VTYPE_TOPIC;
    vus[n++].u.cstr = topic;
    vus[n].vtype = RD_KAFKA_VTYPE_PARTITION;
    vus[n++].u.i32 = partition;
    static const char empty[1] = {0};
    vus[n].vtype = RD_KAFKA_VTYPE_VALUE;
    vus[n].u.mem.ptr = (void *)(value ? value : empty);
    vus[n++].u.mem.size = value_size;
    if (has_key) {
        vus[n].vtype = RD_KAFKA_VTYPE_KEY;
        vus[n].u.mem.ptr = (void *)(key ? key : empty);
        vus[n++].u.mem.size = key_size;
    }
    vus[n].vtype = RD_KAFKA_VTYPE_OPAQUE;
    vus[n++].u.ptr = opaque;
    vus[n].vtype = RD_KAFKA_VTYPE_MSGFLAGS;
    vus[n++].u.i = RD_KAFKA_MSG_F_COPY | (block ? RD_KAFKA_MSG_F_BLOCK : 0);
    if (timestamp_ms > 0) {
        vus[n].vtype = RD_KAFKA_VTYPE_TIMESTAMP;
        vus[n++].u.i64 = timestamp_ms;
    }
    if (headers) {
        vus[n].vtype = RD_KAFKA_VTYPE_HEADERS;
        vus[n++].u.headers = headers;
    }
    rd_kafka_error_t *error = rd_kafka_produceva(rk, vus, n);
    if (error && headers) rd_kafka_headers_destroy(headers);
    return error;
}

/* RD_KAFKA_PARTITION_UA and RD_KAFKA_OFFSET_END are macros with casts, which the importer skips. */
static inline int32_t ckafka_partition_unassigned(void) { return RD_KAFKA_PARTITION_UA; }

#endif
