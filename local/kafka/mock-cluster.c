/*
 * Serves the Kafka protocol on loopback with librdkafka's mock cluster, so that
 * tests and the local runtime talk to a real Kafka-protocol broker without a JVM.
 *
 * usage: mock-cluster [-b BROKERS] [-m MAX_REQUEST_BYTES] [TOPIC:PARTITIONS ...]
 * -m: the brokers drop the connection of any request larger than this, as a broker refuses a
 *      produce request over its size limits (librdkafka's receive.message.max.bytes).
 * Prints "READY <bootstrap servers>" once the topics exist, then reads commands
 * from stdin, one per line, answering "OK" or "ERR <reason>":
 *   topic NAME PARTITIONS      create a topic (the mock has no CreateTopics API)
 *   down BROKER | up BROKER    take a broker (-1: all) off the network and back
 *   rtt BROKER MS              delay every response of a broker
 *   errors APIKEY COUNT CODE   fail the next COUNT requests of a Kafka API
 * End of stdin (the parent exited or closed the pipe) stops the cluster.
 */
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int create_topic(rd_kafka_mock_cluster_t *mc, const char *spec) {
  char name[256];
  int partitions = 1;
  const char *colon = strrchr(spec, ':');
  size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
  if (len == 0 || len >= sizeof(name)) return -1;
  memcpy(name, spec, len);
  name[len] = '\0';
  if (colon) partitions = atoi(colon + 1);
  if (partitions < 1) return -1;
  return rd_kafka_mock_topic_create(mc, name, partitions, 1) == RD_KAFKA_RESP_ERR_NO_ERROR ? 0 : -1;
}

int main(int argc, char **argv) {
  int brokers = 1, opt;
  const char *max_request = NULL;
  char errstr[512];
  while ((opt = getopt(argc, argv, "b:m:")) != -1) {
    if (opt == 'b') brokers = atoi(optarg);
    else if (opt == 'm') max_request = optarg;
    else { fprintf(stderr, "usage: %s [-b BROKERS] [-m MAX_REQUEST_BYTES] [TOPIC:PARTITIONS ...]\n", argv[0]); return 2; }
  }
  if (brokers < 1) { fprintf(stderr, "broker count must be at least 1\n"); return 2; }

  rd_kafka_conf_t *conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "log_level", "3", errstr, sizeof(errstr));
  if (max_request) {
    if (rd_kafka_conf_set(conf, "message.max.bytes", "1000", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "fetch.max.bytes", "1000", errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK ||
        rd_kafka_conf_set(conf, "receive.message.max.bytes", max_request, errstr, sizeof(errstr)) != RD_KAFKA_CONF_OK) {
      fprintf(stderr, "bad -m: %s\n", errstr);
      return 2;
    }
  }
  rd_kafka_t *rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr));
  if (!rk) { fprintf(stderr, "rd_kafka_new: %s\n", errstr); return 1; }
  rd_kafka_mock_cluster_t *mc = rd_kafka_mock_cluster_new(rk, brokers);
  if (!mc) { fprintf(stderr, "could not create the mock cluster\n"); return 1; }

  for (int i = optind; i < argc; i++) {
    if (create_topic(mc, argv[i]) != 0) { fprintf(stderr, "bad topic spec: %s\n", argv[i]); return 2; }
  }
  printf("READY %s\n", rd_kafka_mock_cluster_bootstraps(mc));
  fflush(stdout);

  char line[512], word[32], arg[256];
  while (fgets(line, sizeof(line), stdin)) {
    int a = 0, b = 0, c = 0, ok = -1;
    if (sscanf(line, "%31s", word) != 1) continue;
    if (!strcmp(word, "topic") && sscanf(line, "%*s %255s %d", arg, &a) == 2) {
      char spec[300];
      snprintf(spec, sizeof(spec), "%s:%d", arg, a);
      ok = create_topic(mc, spec);
    } else if (!strcmp(word, "down") && sscanf(line, "%*s %d", &a) == 1) {
      ok = rd_kafka_mock_broker_set_down(mc, a) ? -1 : 0;
    } else if (!strcmp(word, "up") && sscanf(line, "%*s %d", &a) == 1) {
      ok = rd_kafka_mock_broker_set_up(mc, a) ? -1 : 0;
    } else if (!strcmp(word, "rtt") && sscanf(line, "%*s %d %d", &a, &b) == 2) {
      ok = rd_kafka_mock_broker_set_rtt(mc, a, b) ? -1 : 0;
    } else if (!strcmp(word, "errors") && sscanf(line, "%*s %d %d %d", &a, &b, &c) == 3 && b > 0) {
      rd_kafka_resp_err_t *errs = calloc((size_t)b, sizeof(*errs));
      for (int i = 0; i < b; i++) errs[i] = (rd_kafka_resp_err_t)c;
      rd_kafka_mock_push_request_errors_array(mc, (int16_t)a, (size_t)b, errs);
      free(errs);
      ok = 0;
    }
    printf(ok == 0 ? "OK\n" : "ERR %s", ok == 0 ? "" : line);
    fflush(stdout);
  }
  rd_kafka_mock_cluster_destroy(mc);
  rd_kafka_destroy(rk);
  return 0;
}
