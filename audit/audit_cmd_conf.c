/* audit_cmd_conf.c: where `portico audit` finds the topic (audit_cli.h).
 *
 * Brokers and topic come from -b/-t, else from the "audit" section of portico.json (-c), read
 * here with jansson alone so that a config the gateway would refuse for another reason can still
 * be used to read its audit. "brokers": "embedded" means the gateway's development broker, whose
 * address the gateway writes to broker.addr in its audit directory.
 */
#include "audit_cli.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* dir/broker.addr, dir relative to the config's folder: the embedded broker's address. */
static char *
embedded_addr(const char *config, const char *dir)
{
    const char *slash = config != NULL ? strrchr(config, '/') : NULL;
    char *path = NULL, *line = NULL;
    size_t cap = 0;
    FILE *f = NULL;
    int n;

    if (config == NULL) {
        au_cli_fail("-b embedded needs -c FILE: the broker's address is in the audit directory");
        return NULL;
    }
    if (dir[0] == '/')
        n = asprintf(&path, "%s/broker.addr", dir);
    else if (slash != NULL)
        n = asprintf(&path, "%.*s/%s/broker.addr", (int)(slash - config), config, dir);
    else
        n = asprintf(&path, "%s/broker.addr", dir);
    if (n < 0)
        return NULL;
    if ((f = fopen(path, "r")) == NULL || getline(&line, &cap, f) < 0) {
        au_cli_fail("%s: %s (the gateway writes the embedded broker's address there while it "
                    "runs)",
                    path, f == NULL ? strerror(errno) : "empty");
        free(line);
        line = NULL;
        goto out;
    }
    line[strcspn(line, " \t\r\n")] = '\0';
    if (line[0] == '\0') {
        au_cli_fail("%s: empty", path);
        free(line);
        line = NULL;
    }
out:
    if (f != NULL)
        fclose(f);
    free(path);
    return line;
}

/* *out set to the string member `name` of the audit section, when there is one. Returns 0, or
 * -1 (reported) when the member is not a string. */
static int
conf_str(const char *file, const json_t *audit, const char *name, const char **out)
{
    const json_t *j = json_object_get(audit, name);

    if (j == NULL)
        return 0;
    if (!json_is_string(j)) {
        au_cli_fail("%s: audit.%s must be a string", file, name);
        return -1;
    }
    *out = json_string_value(j);
    return 0;
}

/* The config's librdkafka properties under the -X ones, in c->props. */
static int
merge_props(struct au_cli *c, const json_t *kafka)
{
    const char *name;
    json_t *val;

    if (kafka != NULL && !json_is_object(kafka)) {
        au_cli_fail("%s: audit.kafka must be an object of librdkafka properties", c->config);
        return -1;
    }
    json_object_foreach((json_t *)kafka, name, val)
    {
        if (!json_is_string(val)) {
            au_cli_fail("%s: audit.kafka.%s: a librdkafka property is a string", c->config, name);
            return -1;
        }
    }
    c->props = kafka != NULL ? json_deep_copy(kafka) : json_object();
    if (c->props == NULL || json_object_update(c->props, c->xprops) < 0) {
        au_cli_fail("out of memory");
        return -1;
    }
    return 0;
}

/* Brokers, topic and properties from the options over the config. Returns 0 or -1 (reported). */
int
au_cli_resolve(struct au_cli *c)
{
    const char *brokers = NULL, *topic = NULL, *dir = "audit";
    json_t *root = NULL, *audit = NULL;
    json_error_t jerr;
    int rc = -1;

    if (c->config != NULL) {
        if ((root = json_load_file(c->config, JSON_REJECT_DUPLICATES, &jerr)) == NULL) {
            au_cli_fail("%s:%d:%d: %s", c->config, jerr.line, jerr.column, jerr.text);
            goto out;
        }
        audit = json_object_get(root, "audit");
        if (audit != NULL && !json_is_object(audit)) {
            au_cli_fail("%s: \"audit\" must be an object", c->config);
            goto out;
        }
        if (conf_str(c->config, audit, "brokers", &brokers) < 0 ||
            conf_str(c->config, audit, "topic", &topic) < 0 ||
            conf_str(c->config, audit, "dir", &dir) < 0)
            goto out;
    }
    if (c->brokers_arg != NULL)
        brokers = c->brokers_arg;
    if (c->topic_arg != NULL)
        topic = c->topic_arg;
    if (brokers == NULL || brokers[0] == '\0') {
        if (c->config != NULL)
            au_cli_fail("%s: no audit.brokers, and no -b BROKERS", c->config);
        else
            au_cli_fail("where is the audit topic? give -c FILE (portico.json) or -b BROKERS");
        goto out;
    }
    c->brokers = strcmp(brokers, "embedded") == 0 ? embedded_addr(c->config, dir) : strdup(brokers);
    c->topic = strdup(topic != NULL ? topic : "portico.audit");
    if (c->brokers == NULL || c->topic == NULL)
        goto out;
    rc = merge_props(c, json_object_get(audit, "kafka"));

out:
    json_decref(root);
    return rc;
}
