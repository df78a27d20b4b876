/* Helpers over libpg_query's parse tree. */
#include "sql/pgtree.h"
#include "util/xalloc.h"

const ProtobufCMessage *node_message(const PgQuery__Node *n)
{
	const ProtobufCFieldDescriptor *f;

	if (!n || n->node_case == PG_QUERY__NODE__NODE__NOT_SET)
		return NULL;
	f = protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor,
	                                            (unsigned)n->node_case);
	if (!f)
		return NULL;
	return *(ProtobufCMessage *const *)((const char *)n + f->offset);
}

int node_location(const PgQuery__Node *n)
{
	const ProtobufCMessage *m = node_message(n);
	const ProtobufCFieldDescriptor *f;

	if (!m)
		return -1;
	f = protobuf_c_message_descriptor_get_field_by_name(m->descriptor,
	                                                    "location");
	if (!f || f->type != PROTOBUF_C_TYPE_INT32)
		return -1;
	return *(const int32_t *)((const char *)m + f->offset);
}

/* Depth first with the messages still to visit on a heap stack: a tree
 * may nest deeper than the call stack would allow (sql/pgparse.h). */
bool node_walk(const ProtobufCMessage *m, node_walk_fn fn, void *data)
{
	const ProtobufCMessage **todo = NULL;
	size_t n = 0, alloc = 0;
	bool is_found = false;

	if (!m)
		return false;
	XGROW(todo, alloc, n + 1);
	todo[n++] = m;
	while (n && !is_found) {
		const ProtobufCMessageDescriptor *d;
		const char *base;
		size_t first;

		m = todo[--n];
		d = m->descriptor;
		base = (const char *)m;
		if (d == &pg_query__node__descriptor) {
			m = node_message((const PgQuery__Node *)m);
			if (m) {
				XGROW(todo, alloc, n + 1);
				todo[n++] = m;
			}
			continue;
		}
		if (fn(m, data)) {
			is_found = true;
			break;
		}
		first = n;
		for (unsigned i = 0; i < d->n_fields; i++) {
			const ProtobufCFieldDescriptor *f = &d->fields[i];

			if (f->type != PROTOBUF_C_TYPE_MESSAGE)
				continue;
			if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
			    *(const uint32_t *)(base + f->quantifier_offset) !=
			            f->id)
				continue;
			if (f->label == PROTOBUF_C_LABEL_REPEATED) {
				size_t k =
				        *(const size_t *)(base +
				                          f->quantifier_offset);
				ProtobufCMessage *const *v =
				        *(ProtobufCMessage *const *const
				                  *)(base + f->offset);

				for (size_t j = 0; j < k; j++) {
					if (!v[j])
						continue;
					XGROW(todo, alloc, n + 1);
					todo[n++] = v[j];
				}
			} else {
				const ProtobufCMessage *sub =
				        *(ProtobufCMessage *const *)(base +
				                                     f->offset);

				if (sub) {
					XGROW(todo, alloc, n + 1);
					todo[n++] = sub;
				}
			}
		}
		/* children in field order: the first is visited first */
		for (size_t a = first, b = n; a + 1 < b; a++, b--) {
			const ProtobufCMessage *t = todo[a];

			todo[a] = todo[b - 1];
			todo[b - 1] = t;
		}
	}
	free(todo);
	return is_found;
}

const char *node_string(const PgQuery__Node *n)
{
	if (!n || n->node_case != PG_QUERY__NODE__NODE_STRING)
		return NULL;
	return n->string->sval;
}

const char *names_last(PgQuery__Node **names, size_t n)
{
	return n ? node_string(names[n - 1]) : NULL;
}

const PgQuery__DefElem *defs_find(PgQuery__Node **defs, size_t n,
                                  const char *name)
{
	for (size_t i = 0; i < n; i++)
		if (defs[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
		    !strcmp(defs[i]->def_elem->defname, name))
			return defs[i]->def_elem;
	return NULL;
}

bool def_is_true(const PgQuery__DefElem *d)
{
	const PgQuery__Node *a = d->arg;
	const char *s = NULL;

	if (!a)
		return true;
	if (a->node_case == PG_QUERY__NODE__NODE_INTEGER)
		return a->integer->ival != 0;
	if (a->node_case == PG_QUERY__NODE__NODE_BOOLEAN)
		return a->boolean->boolval;
	if (a->node_case == PG_QUERY__NODE__NODE_STRING)
		s = a->string->sval;
	else if (a->node_case == PG_QUERY__NODE__NODE_TYPE_NAME)
		s = names_last(a->type_name->names, a->type_name->n_names);
	return !(s &&
	         (!strcmp(s, "false") || !strcmp(s, "off") || !strcmp(s, "0")));
}
