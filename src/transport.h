/* transport: sends outbox messages by the configured transport
 * (sendmail | smtp://host:port | smtps://host:port | maildir:PATH), with
 * retries and exponential backoff; a row's sending hold prevents sending
 * twice (transport.c). */
#ifndef SERCOM_TRANSPORT_H
#define SERCOM_TRANSPORT_H

#include "conf.h"
#include "store.h"
#include <glib.h>
#include <stdbool.h>

/* Sends every PENDING outbox message that is due; returns how many were
 * sent, -1 on an error of the store (a failed send is not an error: it is
 * retried later and recorded in last_error). */
int transport_flush(const struct sercom_conf *c, struct store *s, GError **err);
/* The same, stopping between two messages once stop_fd (-1: never) is
 * readable: the runner's sender stops without cutting a send in half. */
int transport_flush_until(const struct sercom_conf *c, struct store *s, int stop_fd, GError **err);
/* Seconds a sender's hold on a row lasts: older, its sender died mid-send. */
int64_t transport_claim_lease(const struct sercom_conf *c);
/* Seconds until the next PENDING message is due (for the runner's timer);
 * -1 when there is none. */
int64_t transport_next_due(struct store *s);

#endif
