/*
 * A PostgreSQL schema snapshot over the database's own session: one query
 * over pg_catalog giving every object a migration can make as canonical
 * text, sorted, in the shape pg_dump --schema-only writes them (the
 * server's pg_get_*def() where it has one), ownership and privileges left
 * out as the schema dump leaves them out, and strata's tables and the
 * sequences they own left out. Cheap enough to take after every step of
 * strata test, where a pg_dump process per step cost many times the
 * migrations themselves; two snapshots are equal exactly when the objects
 * they describe are. On a watched session (pgschema_watch()) a snapshot
 * re-describes only the objects changed since the last one and what
 * depends on them, and keeps the other rows: a full read at every step
 * grew with the schema, and the proof with the square of the migrations.
 */
#include "util/common.h"
#include "util/xalloc.h"
#include "util/sbuf.h"
#include "util/cancel.h"
#include "drivers/driver.h"
#include "drivers/pgsession.h"
#include "engine/db.h"
#include "backup/backup_pg.h"
#include "backup/schema.h"

#include <string.h>

/*
 * Everything is named in full (search_path empty, as pg_dump sets it) and
 * values are written as pg_dump writes them, whatever the migrations set
 * in the session; a transaction of its own makes that last only for it.
 */
static const char snapshot_begin[] =
        "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
        " SELECT pg_catalog.set_config('strata.own',"
        " coalesce(pg_catalog.string_agg(o::pg_catalog.oid::pg_catalog.text, ','), ''),"
        " true) FROM (SELECT NULL::pg_catalog.regclass";
static const char snapshot_settings[] =
        ") r(o) WHERE o IS NOT NULL;"
        " SET LOCAL search_path = '';"
        " SET LOCAL DateStyle = ISO;"
        " SET LOCAL IntervalStyle = postgres;"
        " SET LOCAL extra_float_digits = 3;"
        /* the partial read's estimate of
         * the closure asks for a JIT
         * costing seconds */
        " SET LOCAL jit = off;"
        /* a plan made once: planning the partial read each time cost a
         * third of running it */
        " SET LOCAL plan_cache_mode = force_generic_plan";

/*
 * Each object as (sort key, text). Column options: only those PostgreSQL
 * defines (a server may keep private ones there that no DDL sets and
 * pg_dump does not show). Extension members are the extension's.
 */
/* clang-format off */
static const char
        snapshot_sql
                [] =
                        "own_rel(oid) AS (SELECT pg_catalog.unnest(pg_catalog.string_to_array("
                        "pg_catalog.current_setting('strata.own'), ','))::pg_catalog.oid),"
                        /* both by index, as the catalogs' scans grew with the
                           schema */
                        " own(oid) AS ("
                        " SELECT c.oid FROM pg_catalog.pg_class c WHERE c.oid IN (SELECT oid FROM own_rel)"
                        " UNION SELECT c.oid FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_class c ON c.oid = d.objid"
                        " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass"
                        " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass"
                        " AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT oid FROM own_rel) AND c.relkind = 'S'),"
                        " ext AS MATERIALIZED (SELECT classid, objid FROM pg_catalog.pg_depend"
                        " WHERE refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass AND deptype = 'e'),"
                        " ns AS (SELECT n.oid, n.nspname FROM pg_catalog.pg_namespace n"
                        " WHERE n.nspname <> 'information_schema' AND n.nspname !~ '^pg_'"
                        " AND (n.oid, 'pg_catalog.pg_namespace'::pg_catalog.regclass) NOT IN (SELECT objid, classid FROM ext)),"
                        " rel AS NOT MATERIALIZED (SELECT c.oid, c.relkind FROM pg_catalog.pg_class c JOIN ns ON ns.oid = c.relnamespace"
                        " WHERE c.oid NOT IN (SELECT oid FROM own)"
                        " AND c.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_class'::pg_catalog.regclass)),"
                        " typ AS NOT MATERIALIZED (SELECT t.oid FROM pg_catalog.pg_type t JOIN ns ON ns.oid = t.typnamespace"
                        " WHERE t.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_type'::pg_catalog.regclass)),"
                        " coll(oid, name) AS (SELECT co.oid, pg_catalog.quote_ident(n.nspname) || '.' || pg_catalog.quote_ident(co.collname)"
                        " FROM pg_catalog.pg_collation co JOIN pg_catalog.pg_namespace n ON n.oid = co.collnamespace)"
                        " SELECT s.u, s.k, s.d FROM @{} ("
                        " SELECT ns.oid AS u, '1 ' || ns.nspname AS k, 'CREATE SCHEMA ' || pg_catalog.quote_ident(ns.nspname) || ';' AS d FROM ns WHERE @{ns.oid|pg_namespace}"
                        " UNION ALL"
                        " SELECT e.oid, '2 ' || e.extname, 'CREATE EXTENSION ' || pg_catalog.quote_ident(e.extname)"
                        " || ' WITH SCHEMA ' || pg_catalog.quote_ident(n.nspname) || ' VERSION ' || pg_catalog.quote_literal(e.extversion) || ';'"
                        " FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace WHERE @{e.oid|pg_extension}"
                        " UNION ALL"
                        " SELECT t.oid, '3 ' || t.oid::pg_catalog.regtype::text, CASE t.typtype"
                        " WHEN 'e' THEN 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' AS ENUM ('"
                        " || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_literal(l.enumlabel), ', ' ORDER BY l.enumsortorder)"
                        " FROM pg_catalog.pg_enum l WHERE l.enumtypid = t.oid), '') || ');'"
                        " WHEN 'd' THEN 'CREATE DOMAIN ' || t.oid::pg_catalog.regtype::text || ' AS '"
                        " || pg_catalog.format_type(t.typbasetype, t.typtypmod)"
                        " || coalesce(' COLLATE ' || (SELECT name FROM coll WHERE coll.oid = t.typcollation"
                        " AND t.typcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = t.typbasetype)), '')"
                        " || coalesce(' DEFAULT ' || t.typdefault, '') || CASE WHEN t.typnotnull THEN ' NOT NULL' ELSE '' END || ';'"
                        " WHEN 'c' THEN 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' AS ('"
                        " || coalesce((SELECT pg_catalog.string_agg(pg_catalog.quote_ident(a.attname) || ' '"
                        " || pg_catalog.format_type(a.atttypid, a.atttypmod)"
                        " || coalesce(' COLLATE ' || (SELECT name FROM coll WHERE coll.oid = a.attcollation"
                        " AND a.attcollation <> (SELECT b.typcollation FROM pg_catalog.pg_type b WHERE b.oid = a.atttypid)), ''),"
                        " ', ' ORDER BY a.attnum) FROM pg_catalog.pg_attribute a"
                        " WHERE a.attrelid = t.typrelid AND a.attnum > 0 AND NOT a.attisdropped), '') || ');'"
                        " WHEN 'r' THEN 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' AS RANGE (SUBTYPE = '"
                        " || pg_catalog.format_type(r.rngsubtype, NULL)"
                        " || coalesce(', COLLATION = ' || (SELECT name FROM coll WHERE coll.oid = r.rngcollation), '')"
                        " || ', SUBTYPE_OPCLASS = ' || (SELECT pg_catalog.quote_ident(o.opcname) FROM pg_catalog.pg_opclass o WHERE o.oid = r.rngsubopc)"
                        " || coalesce(', CANONICAL = ' || NULLIF(r.rngcanonical::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', SUBTYPE_DIFF = ' || NULLIF(r.rngsubdiff::oid, 0)::pg_catalog.regprocedure::text, '') || ');'"
                        " ELSE 'CREATE TYPE ' || t.oid::pg_catalog.regtype::text || ' (INPUT = ' || t.typinput::text"
                        " || ', OUTPUT = ' || t.typoutput::text || ', RECEIVE = ' || t.typreceive::text || ', SEND = ' || t.typsend::text"
                        " || ', INTERNALLENGTH = ' || t.typlen || ', ALIGNMENT = ' || t.typalign::text || ', STORAGE = ' || t.typstorage::text::text"
                        " || ', CATEGORY = ' || pg_catalog.quote_literal(t.typcategory::text) || ', DEFINED = ' || t.typisdefined || ');'"
                        " END"
                        " FROM pg_catalog.pg_type t LEFT JOIN pg_catalog.pg_range r ON r.rngtypid = t.oid"
                        " WHERE @{t.oid|pg_type} AND t.oid IN (SELECT oid FROM typ) AND (t.typtype IN ('b', 'e', 'd', 'r')"
                        " AND NOT (t.typtype = 'b' AND t.typelem <> 0 AND EXISTS (SELECT 1 FROM pg_catalog.pg_type e WHERE e.oid = t.typelem AND e.typarray = t.oid))"
                        " OR (t.typtype = 'c' AND EXISTS (SELECT 1 FROM rel WHERE rel.oid = t.typrelid AND rel.relkind = 'c')))"
                        " UNION ALL"
                        " SELECT c.oid, '4 ' || c.oid::pg_catalog.regclass::text,"
                        " 'CREATE ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END"
                        " || CASE c.relkind WHEN 'f' THEN 'FOREIGN TABLE ' WHEN 'v' THEN 'VIEW ' WHEN 'm' THEN 'MATERIALIZED VIEW ' ELSE 'TABLE ' END"
                        " || c.oid::pg_catalog.regclass::text || ' ('"
                        " || coalesce(E'\\n' || (SELECT pg_catalog.string_agg('    ' || pg_catalog.quote_ident(a.attname) || ' '"
                        " || pg_catalog.format_type(a.atttypid, a.atttypmod)"
                        " || coalesce(' COLLATE ' || (SELECT name FROM coll WHERE coll.oid = a.attcollation AND a.attcollation <> ty.typcollation), '')"
                        " || CASE WHEN a.attgenerated <> '' THEN ' GENERATED ALWAYS AS (' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid) || ') STORED'"
                        " ELSE coalesce(' DEFAULT ' || pg_catalog.pg_get_expr(ad.adbin, ad.adrelid), '') END"
                        " || CASE a.attidentity WHEN 'a' THEN ' GENERATED ALWAYS AS IDENTITY' WHEN 'd' THEN ' GENERATED BY DEFAULT AS IDENTITY' ELSE '' END"
                        " || CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END"
                        " || CASE WHEN coalesce(a.attstattarget::int, -1) >= 0 THEN ' STATISTICS ' || a.attstattarget ELSE '' END"
                        " || CASE WHEN a.attstorage <> ty.typstorage THEN ' STORAGE ' || a.attstorage::text ELSE '' END"
                        " || coalesce(' OPTIONS (' || (SELECT pg_catalog.string_agg(o, ', ' ORDER BY o) FROM pg_catalog.unnest(a.attoptions) o"
                        " WHERE o ~ '^n_distinct(_inherited)?=') || ')', '')"
                        " || coalesce(' FDW OPTIONS (' || pg_catalog.array_to_string(a.attfdwoptions, ', ') || ')', '')"
                        " || CASE WHEN NOT a.attislocal THEN ' INHERITED' ELSE '' END,"
                        " E',\\n' ORDER BY a.attnum)"
                        " FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_type ty ON ty.oid = a.atttypid"
                        " LEFT JOIN pg_catalog.pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum"
                        " WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped), '')"
                        " || E'\\n)'"
                        " || CASE WHEN c.relkind = 'p' THEN ' PARTITION BY ' || pg_catalog.pg_get_partkeydef(c.oid) ELSE '' END"
                        " || coalesce(' INHERITS (' || (SELECT pg_catalog.string_agg(i.inhparent::pg_catalog.regclass::text, ', ' ORDER BY i.inhseqno)"
                        " FROM pg_catalog.pg_inherits i WHERE i.inhrelid = c.oid) || ')', '')"
                        " || coalesce(' ' || pg_catalog.pg_get_expr(c.relpartbound, c.oid), '')"
                        " || coalesce(' USING ' || (SELECT am.amname FROM pg_catalog.pg_am am WHERE am.oid = c.relam AND c.relkind IN ('r', 'm')), '')"
                        " || coalesce(' WITH (' || pg_catalog.array_to_string(c.reloptions, ', ') || ')', '')"
                        " || coalesce(' TABLESPACE ' || (SELECT pg_catalog.quote_ident(s.spcname) FROM pg_catalog.pg_tablespace s WHERE s.oid = c.reltablespace), '')"
                        " || coalesce(' SERVER ' || (SELECT pg_catalog.quote_ident(s.srvname) || coalesce(' OPTIONS (' || pg_catalog.array_to_string(f.ftoptions, ', ') || ')', '')"
                        " FROM pg_catalog.pg_foreign_table f JOIN pg_catalog.pg_foreign_server s ON s.oid = f.ftserver WHERE f.ftrelid = c.oid), '')"
                        " || coalesce(E' AS\\n' || pg_catalog.rtrim(pg_catalog.pg_get_viewdef(c.oid), ';'), '')"
                        " || ';'"
                        " || CASE WHEN c.relrowsecurity THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' ENABLE ROW LEVEL SECURITY;' ELSE '' END"
                        " || CASE WHEN c.relforcerowsecurity THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' FORCE ROW LEVEL SECURITY;' ELSE '' END"
                        " || CASE WHEN c.relkind NOT IN ('r', 'p') THEN '' ELSE CASE c.relreplident WHEN 'n' THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' REPLICA IDENTITY NOTHING;'"
                        " WHEN 'f' THEN E'\\nALTER TABLE ' || c.oid::pg_catalog.regclass::text || ' REPLICA IDENTITY FULL;' ELSE '' END END"
                        " FROM pg_catalog.pg_class c WHERE c.relkind IN ('r', 'p', 'f', 'v', 'm') AND @{c.oid|pg_class} AND c.oid IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT c.oid, '4 ' || c.oid::pg_catalog.regclass::text,"
                        " 'CREATE ' || CASE c.relpersistence WHEN 'u' THEN 'UNLOGGED ' ELSE '' END || 'SEQUENCE ' || c.oid::pg_catalog.regclass::text"
                        " || ' AS ' || pg_catalog.format_type(s.seqtypid, NULL) || ' START WITH ' || s.seqstart || ' INCREMENT BY ' || s.seqincrement"
                        " || ' MINVALUE ' || s.seqmin || ' MAXVALUE ' || s.seqmax || ' CACHE ' || s.seqcache || CASE WHEN s.seqcycle THEN ' CYCLE' ELSE '' END || ';'"
                        " || coalesce((SELECT pg_catalog.string_agg(E'\\nALTER SEQUENCE ' || c.oid::pg_catalog.regclass::text"
                        " || CASE d.deptype WHEN 'i' THEN ' IDENTITY OF ' ELSE ' OWNED BY ' END"
                        " || d.refobjid::pg_catalog.regclass::text || '.' || pg_catalog.quote_ident(a.attname) || ';', '')"
                        " FROM pg_catalog.pg_depend d JOIN pg_catalog.pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid"
                        " WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objid = c.oid"
                        " AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.deptype IN ('a', 'i')), '')"
                        " FROM pg_catalog.pg_class c JOIN pg_catalog.pg_sequence s ON s.seqrelid = c.oid WHERE @{c.oid|pg_class} AND c.oid IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT p.oid, '5 ' || p.oid::pg_catalog.regprocedure::text,"
                        " CASE WHEN p.prokind = 'a' THEN 'CREATE AGGREGATE ' || p.oid::pg_catalog.regprocedure::text"
                        " || ' (SFUNC = ' || g.aggtransfn::pg_catalog.regprocedure::text || ', STYPE = ' || pg_catalog.format_type(g.aggtranstype, NULL)"
                        " || ', KIND = ' || g.aggkind::text || ', DIRECT ARGS = ' || g.aggnumdirectargs"
                        " || coalesce(', FINALFUNC = ' || NULLIF(g.aggfinalfn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', COMBINEFUNC = ' || NULLIF(g.aggcombinefn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', SERIALFUNC = ' || NULLIF(g.aggserialfn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', DESERIALFUNC = ' || NULLIF(g.aggdeserialfn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', MSFUNC = ' || NULLIF(g.aggmtransfn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', MINVFUNC = ' || NULLIF(g.aggminvtransfn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', MFINALFUNC = ' || NULLIF(g.aggmfinalfn::oid, 0)::pg_catalog.regprocedure::text, '')"
                        " || coalesce(', MSTYPE = ' || pg_catalog.format_type(NULLIF(g.aggmtranstype, 0), NULL), '')"
                        " || coalesce(', SORTOP = ' || NULLIF(g.aggsortop, 0)::pg_catalog.regoperator::text, '')"
                        " || coalesce(', INITCOND = ' || pg_catalog.quote_literal(g.agginitval), '')"
                        " || coalesce(', MINITCOND = ' || pg_catalog.quote_literal(g.aggminitval), '')"
                        " || ', PARALLEL = ' || p.proparallel::text || ');'"
                        " ELSE pg_catalog.rtrim(pg_catalog.pg_get_functiondef(p.oid), E'\\n') || ';' END"
                        " FROM pg_catalog.pg_proc p JOIN ns ON ns.oid = p.pronamespace"
                        " LEFT JOIN pg_catalog.pg_aggregate g ON g.aggfnoid = p.oid"
                        " WHERE @{p.oid|pg_proc} AND p.oid NOT IN (SELECT objid FROM ext WHERE classid = 'pg_catalog.pg_proc'::pg_catalog.regclass)"
                        " UNION ALL"
                        " SELECT c.oid, '6 ' || i.indrelid::pg_catalog.regclass::text || ' ' || c.relname,"
                        " pg_catalog.pg_get_indexdef(i.indexrelid) || ';'"
                        " || CASE WHEN i.indisclustered THEN E'\\nALTER TABLE ' || i.indrelid::pg_catalog.regclass::text || ' CLUSTER ON ' || pg_catalog.quote_ident(c.relname) || ';' ELSE '' END"
                        " || CASE WHEN i.indisreplident THEN E'\\nALTER TABLE ' || i.indrelid::pg_catalog.regclass::text || ' REPLICA IDENTITY USING INDEX ' || pg_catalog.quote_ident(c.relname) || ';' ELSE '' END"
                        " || CASE WHEN NOT i.indisvalid THEN E'\\n-- invalid' ELSE '' END"
                        " FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c ON c.oid = i.indexrelid"
                        " WHERE @{i.indexrelid|pg_class} AND c.oid IN (SELECT oid FROM rel) AND i.indrelid IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT co.oid, '7 ' || co.conrelid::pg_catalog.regclass::text || ' ' || co.conname,"
                        " 'ALTER TABLE ONLY ' || co.conrelid::pg_catalog.regclass::text || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(co.conname)"
                        " || ' ' || pg_catalog.pg_get_constraintdef(co.oid) || ';' || CASE WHEN NOT co.conislocal THEN ' -- inherited' ELSE '' END"
                        " FROM pg_catalog.pg_constraint co WHERE @{co.oid|pg_constraint} AND co.conrelid IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT co.oid, '7 ' || co.contypid::pg_catalog.regtype::text || ' ' || co.conname,"
                        " 'ALTER DOMAIN ' || co.contypid::pg_catalog.regtype::text || ' ADD CONSTRAINT ' || pg_catalog.quote_ident(co.conname)"
                        " || ' ' || pg_catalog.pg_get_constraintdef(co.oid) || ';'"
                        " FROM pg_catalog.pg_constraint co WHERE @{co.oid|pg_constraint} AND co.contypid IN (SELECT oid FROM typ)"
                        " UNION ALL"
                        " SELECT tg.oid, '8 ' || tg.tgrelid::pg_catalog.regclass::text || ' ' || tg.tgname,"
                        " pg_catalog.pg_get_triggerdef(tg.oid) || ';'"
                        " || CASE tg.tgenabled WHEN 'D' THEN E'\\n-- disabled' WHEN 'R' THEN E'\\n-- enabled replica' WHEN 'A' THEN E'\\n-- enabled always' ELSE '' END"
                        " FROM pg_catalog.pg_trigger tg WHERE @{tg.oid|pg_trigger} AND NOT tg.tgisinternal AND @[tg.tgrelid]"
                        " UNION ALL"
                        " SELECT po.oid, '9 ' || po.polrelid::pg_catalog.regclass::text || ' ' || po.polname,"
                        " 'CREATE POLICY ' || pg_catalog.quote_ident(po.polname) || ' ON ' || po.polrelid::pg_catalog.regclass::text"
                        " || CASE WHEN po.polpermissive THEN '' ELSE ' AS RESTRICTIVE' END"
                        " || ' FOR ' || CASE po.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' WHEN 'd' THEN 'DELETE' ELSE 'ALL' END"
                        " || ' TO ' || (SELECT pg_catalog.string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(r)) END, ', ' ORDER BY 1)"
                        " FROM pg_catalog.unnest(po.polroles) r)"
                        " || coalesce(' USING (' || pg_catalog.pg_get_expr(po.polqual, po.polrelid) || ')', '')"
                        " || coalesce(' WITH CHECK (' || pg_catalog.pg_get_expr(po.polwithcheck, po.polrelid) || ')', '') || ';'"
                        " FROM pg_catalog.pg_policy po WHERE @{po.oid|pg_policy} AND po.polrelid IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT ru.oid, 'a ' || ru.ev_class::pg_catalog.regclass::text || ' ' || ru.rulename,"
                        " pg_catalog.pg_get_ruledef(ru.oid) || CASE WHEN ru.ev_enabled <> 'O' THEN E'\\n-- enabled ' || ru.ev_enabled::text ELSE '' END"
                        " FROM pg_catalog.pg_rewrite ru WHERE @{ru.oid|pg_rewrite} AND ru.rulename <> '_RETURN' AND ru.ev_class IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT s.oid, 'b ' || pg_catalog.pg_describe_object(s.tableoid, s.oid, 0), pg_catalog.pg_get_statisticsobjdef(s.oid) || ';'"
                        " FROM pg_catalog.pg_statistic_ext s WHERE @{s.oid|pg_statistic_ext} AND s.stxrelid IN (SELECT oid FROM rel)"
                        " UNION ALL"
                        " SELECT o.objid, 'c ' || pg_catalog.pg_describe_object(o.classid, o.objid, 0), pg_catalog.pg_describe_object(o.classid, o.objid, 0) || coalesce(' ' || o.detail, '')"
                        " FROM ("
                        /* each catalog named as a constant, not by tableoid:
                           a partial read tests it before the lookup */
                        " SELECT 'pg_catalog.pg_cast'::pg_catalog.regclass AS classid, x.oid AS objid, pg_catalog.format('%s WITH %s AS %s',"
                        " CASE x.castmethod WHEN 'f' THEN x.castfunc::pg_catalog.regprocedure::text WHEN 'i' THEN 'INOUT' ELSE 'BINARY' END,"
                        " x.castcontext, x.castmethod) AS detail FROM pg_catalog.pg_cast x WHERE x.oid >= 16384"
                        " UNION ALL SELECT 'pg_catalog.pg_operator'::pg_catalog.regclass, x.oid, pg_catalog.format('FUNCTION %s COMMUTATOR %s NEGATOR %s RESTRICT %s JOIN %s HASHES %s MERGES %s',"
                        " x.oprcode::oid::pg_catalog.regprocedure, x.oprcom::pg_catalog.regoperator, x.oprnegate::pg_catalog.regoperator,"
                        " x.oprrest, x.oprjoin, x.oprcanhash, x.oprcanmerge)"
                        " FROM pg_catalog.pg_operator x JOIN ns ON ns.oid = x.oprnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_collation'::pg_catalog.regclass, x.oid, (pg_catalog.to_jsonb(x) - 'oid' - 'collnamespace' - 'collowner')::text"
                        " FROM pg_catalog.pg_collation x JOIN ns ON ns.oid = x.collnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_opclass'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_opclass x JOIN ns ON ns.oid = x.opcnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_opfamily'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_opfamily x JOIN ns ON ns.oid = x.opfnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_conversion'::pg_catalog.regclass, x.oid, x.conproc::text FROM pg_catalog.pg_conversion x JOIN ns ON ns.oid = x.connamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_ts_config'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_ts_config x JOIN ns ON ns.oid = x.cfgnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_ts_dict'::pg_catalog.regclass, x.oid, x.dictinitoption FROM pg_catalog.pg_ts_dict x JOIN ns ON ns.oid = x.dictnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_ts_parser'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_ts_parser x JOIN ns ON ns.oid = x.prsnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_ts_template'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_ts_template x JOIN ns ON ns.oid = x.tmplnamespace"
                        " UNION ALL SELECT 'pg_catalog.pg_event_trigger'::pg_catalog.regclass, x.oid, pg_catalog.format('ON %s EXECUTE %s ENABLED %s TAGS %s',"
                        " x.evtevent, x.evtfoid::pg_catalog.regprocedure, x.evtenabled, x.evttags) FROM pg_catalog.pg_event_trigger x"
                        " WHERE NOT EXISTS (SELECT FROM pg_catalog.pg_proc p WHERE p.oid = x.evtfoid AND p.pronamespace = pg_catalog.pg_my_temp_schema())"
                        " UNION ALL SELECT 'pg_catalog.pg_foreign_data_wrapper'::pg_catalog.regclass, x.oid, pg_catalog.format('HANDLER %s VALIDATOR %s OPTIONS %s',"
                        " x.fdwhandler, x.fdwvalidator, x.fdwoptions) FROM pg_catalog.pg_foreign_data_wrapper x WHERE x.oid >= 16384"
                        " UNION ALL SELECT 'pg_catalog.pg_foreign_server'::pg_catalog.regclass, x.oid, pg_catalog.format('TYPE %s VERSION %s OPTIONS %s', x.srvtype, x.srvversion, x.srvoptions)"
                        " FROM pg_catalog.pg_foreign_server x"
                        " UNION ALL SELECT 'pg_catalog.pg_user_mapping'::pg_catalog.regclass, x.oid, pg_catalog.format('OPTIONS %s', x.umoptions) FROM pg_catalog.pg_user_mapping x"
                        " UNION ALL SELECT 'pg_catalog.pg_publication'::pg_catalog.regclass, x.oid, (pg_catalog.to_jsonb(x) - 'oid' - 'pubowner')::text"
                        " FROM pg_catalog.pg_publication x"
                        " UNION ALL SELECT 'pg_catalog.pg_publication_rel'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_publication_rel x"
                        " UNION ALL SELECT 'pg_catalog.pg_am'::pg_catalog.regclass, x.oid, pg_catalog.format('HANDLER %s TYPE %s', x.amhandler, x.amtype)"
                        " FROM pg_catalog.pg_am x WHERE x.oid >= 16384"
                        " UNION ALL SELECT 'pg_catalog.pg_transform'::pg_catalog.regclass, x.oid, NULL FROM pg_catalog.pg_transform x"
                        " UNION ALL SELECT 'pg_catalog.pg_language'::pg_catalog.regclass, x.oid, pg_catalog.format('TRUSTED %s HANDLER %s INLINE %s VALIDATOR %s',"
                        " x.lanpltrusted, x.lanplcallfoid::pg_catalog.regprocedure, x.laninline::pg_catalog.regprocedure, x.lanvalidator::pg_catalog.regprocedure)"
                        " FROM pg_catalog.pg_language x WHERE x.oid >= 16384"
                        " ) o WHERE @{o.objid|o.classid} AND (o.classid, o.objid) NOT IN (SELECT classid, objid FROM ext)"
                        " UNION ALL"
                        " SELECT d.objoid, 'd ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid),"
                        " 'COMMENT ON ' || pg_catalog.pg_describe_object(d.classoid, d.objoid, d.objsubid) || ' IS ' || pg_catalog.quote_literal(d.description) || ';'"
                        " FROM pg_catalog.pg_description d"
                        " WHERE @{d.objoid|d.classoid} AND (d.objoid >= 16384 OR (d.classoid = 'pg_catalog.pg_namespace'::pg_catalog.regclass AND d.objoid IN (SELECT oid FROM ns)))"
                        " AND NOT (d.classoid = 'pg_catalog.pg_class'::pg_catalog.regclass AND d.objoid IN (SELECT oid FROM own))"
                        " AND (d.classoid, d.objoid) NOT IN (SELECT classid, objid FROM ext)"
                        " ) s";
/* clang-format on */

/*
 * What strata test's reads re-describe (pgschema_watch()): every object a
 * command made, altered or dropped since the last read, as the shadow's
 * event triggers logged them, and every pg_class row written since then
 * (a partition detached, a table clustered: rows no command names); then
 * through pg_depend and back to the object a snapshot row describes
 * (a column default's table, a view's rule, a table's row type), what
 * depends on any of them, whose text may name them. The row of 'full'
 * asks for a full read: a schema or an extension touched changes the
 * names or the membership of objects pg_depend does not tie to it.
 */
static const char part_dirty[] =
        "seed(c, o) AS (SELECT classid, objid FROM pg_temp.strata_proof_log WHERE objid IS NOT NULL"
        " UNION SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, c.oid FROM pg_catalog.pg_class c"
        " WHERE pg_catalog.age(c.xmin) <= pg_catalog.age($1::pg_catalog.xid)),"
        /* through an array, whose length the planner takes for ten: the
         * hash table of the union is sized from the estimate, and ten
         * million rows cost more to allocate at each read than the read */
        " cl(c, o) AS (SELECT (v >> 32)::pg_catalog.oid, (v & 4294967295)::pg_catalog.oid"
        " FROM pg_catalog.unnest(ARRAY(SELECT (c::pg_catalog.int8 << 32) | o::pg_catalog.int8 FROM seed)) v"
        " UNION SELECT x.c, x.o FROM cl, LATERAL ("
        " SELECT d.classid, d.objid FROM pg_catalog.pg_depend d WHERE d.refclassid = cl.c AND d.refobjid = cl.o"
        " UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, ad.adrelid FROM pg_catalog.pg_attrdef ad"
        " WHERE cl.c = 'pg_catalog.pg_attrdef'::pg_catalog.regclass AND ad.oid = cl.o"
        " UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, ru.ev_class FROM pg_catalog.pg_rewrite ru"
        " WHERE cl.c = 'pg_catalog.pg_rewrite'::pg_catalog.regclass AND ru.oid = cl.o"
        " UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, t.typrelid FROM pg_catalog.pg_type t"
        " WHERE cl.c = 'pg_catalog.pg_type'::pg_catalog.regclass AND t.oid = cl.o AND t.typrelid <> 0"
        " UNION ALL SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, r.reltype FROM pg_catalog.pg_class r"
        " WHERE cl.c = 'pg_catalog.pg_class'::pg_catalog.regclass AND r.oid = cl.o AND r.reltype <> 0"
        " ) x(c, o)),"
        " dirty(u, c) AS (SELECT DISTINCT o, c FROM cl),";
static const char part_tail[] =
        " UNION ALL SELECT u, NULL, NULL FROM dirty"
        " UNION ALL SELECT 0, NULL, 'full' WHERE EXISTS (SELECT 1 FROM cl"
        " WHERE c IN ('pg_catalog.pg_namespace'::pg_catalog.regclass, 'pg_catalog.pg_extension'::pg_catalog.regclass))";

/*
 * Whether the watch stands (both triggers ours, enabled always, the log
 * there), a digest of what no event trigger reports (the roles and
 * tablespaces policies and tables name, other event triggers), and where
 * the transaction ids of the next changes begin.
 */
static const char watch_check[] =
        "; SELECT (SELECT pg_catalog.count(*) FROM pg_catalog.pg_event_trigger e"
        " JOIN pg_catalog.pg_proc p ON p.oid = e.evtfoid"
        " WHERE e.evtname IN ('strata_proof_ddl', 'strata_proof_drop') AND e.evtenabled = 'A'"
        " AND p.pronamespace = pg_catalog.pg_my_temp_schema()) = 2"
        " AND pg_catalog.to_regclass('pg_temp.strata_proof_log') IS NOT NULL,"
        " pg_catalog.md5(coalesce((SELECT pg_catalog.string_agg(oid || ' ' || rolname, ',' ORDER BY oid) FROM pg_catalog.pg_roles), '')"
        " || ';' || coalesce((SELECT pg_catalog.string_agg(oid || ' ' || spcname, ',' ORDER BY oid) FROM pg_catalog.pg_tablespace), '')"
        " || ';' || coalesce((SELECT pg_catalog.string_agg(pg_catalog.concat_ws(' ', oid, evtname, evtevent, evtfoid, evtenabled, evttags),"
        " ',' ORDER BY oid) FROM pg_catalog.pg_event_trigger), '')),"
        " (pg_catalog.pg_snapshot_xmax(pg_catalog.pg_current_snapshot())::text::int8 % 4294967296)::text";

/*
 * The watch: a log in the session's temporary schema, out of every
 * snapshot, that event triggers fill on the shadow, enabled always so
 * that session_replication_role does not silence them. A command of
 * another session fails on the missing log rather than go unseen.
 */
static const char watch_sql[] =
        "BEGIN;"
        " CREATE TEMPORARY TABLE strata_proof_log (classid pg_catalog.oid, objid pg_catalog.oid);"
        " CREATE FUNCTION pg_temp.strata_proof_ddl() RETURNS event_trigger LANGUAGE plpgsql"
        " SET search_path = pg_catalog, pg_temp AS $f$BEGIN"
        " INSERT INTO pg_temp.strata_proof_log SELECT classid, objid FROM pg_catalog.pg_event_trigger_ddl_commands();"
        " END$f$;"
        " CREATE FUNCTION pg_temp.strata_proof_drop() RETURNS event_trigger LANGUAGE plpgsql"
        " SET search_path = pg_catalog, pg_temp AS $f$BEGIN"
        " INSERT INTO pg_temp.strata_proof_log SELECT classid, objid FROM pg_catalog.pg_event_trigger_dropped_objects()"
        " UNION ALL SELECT 'pg_catalog.pg_class'::pg_catalog.regclass, pg_catalog.to_regclass("
        " pg_catalog.quote_ident(address_names[1]) || '.' || pg_catalog.quote_ident(address_names[2]))"
        " FROM pg_catalog.pg_event_trigger_dropped_objects() WHERE object_type = 'default value';"
        " END$f$;"
        " CREATE EVENT TRIGGER strata_proof_ddl ON ddl_command_end EXECUTE FUNCTION pg_temp.strata_proof_ddl();"
        " ALTER EVENT TRIGGER strata_proof_ddl ENABLE ALWAYS;"
        " CREATE EVENT TRIGGER strata_proof_drop ON sql_drop EXECUTE FUNCTION pg_temp.strata_proof_drop();"
        " ALTER EVENT TRIGGER strata_proof_drop ENABLE ALWAYS;"
        " COMMIT";

/* Prepared once a session: planning them cost more than running them. */
#define SNAPSHOT_STATEMENT "strata_schema_snapshot"
#define PART_STATEMENT     "strata_schema_snapshot_part"

/*
 * The statement's text: each @{x|class} a filter, of every row or of
 * those whose object x, of catalog `class` (pg_X, or a column that says
 * it), is dirty; @[x] that the relation x is one of `rel`; and @{} where
 * the rows come from. A partial read takes each dirty object in turn and
 * each branch looks its object up by oid in its catalog's index:
 * filtering whole catalogs by the dirty set scanned each of them at
 * every read. The class is tested on the dirty object alone, before any
 * lookup, so that an object is looked up in its own catalog only (every
 * branch probing its index for every object cost more than the rows).
 * The plan is made once, while the shadow is near empty: joined to `rel`,
 * pg_trigger was planned as a whole read of its (tgrelid, tgname) index
 * for each object, costed then as a lookup by oid; with `rel` looked up
 * for the row found instead, it is read by oid.
 */
static void build_sql(struct sbuf *out, bool is_part)
{
	const char *s = snapshot_sql, *at;

	sbuf_adds(out, is_part ? "WITH RECURSIVE " : "WITH ");
	if (is_part)
		sbuf_adds(out, part_dirty);
	while ((at = strchr(s, '@'))) {
		const char *end = strchr(at, at[1] == '[' ? ']' : '}');

		sbuf_add(out, s, (size_t)(at - s));
		if (at[1] == '[') {
			/* a table of `rel`: looked up, not joined, in a
			 * partial read (above) */
			sbuf_adds(
			        out,
			        is_part ? "EXISTS (SELECT FROM rel WHERE rel.oid = "
			                : "");
			sbuf_add(out, at + 2, (size_t)(end - at - 2));
			sbuf_adds(out, is_part ? " OFFSET 0)"
			                       : " IN (SELECT oid FROM rel)");
		} else if (end == at + 2) {
			/* the rows' source: per dirty object in a partial read
			 */
			if (is_part)
				sbuf_adds(out, "dirty dy, LATERAL");
		} else if (is_part) {
			const char *bar = memchr(at, '|', (size_t)(end - at));

			if (!bar)
				BUG("a filter without its catalog");
			sbuf_addch(out, '(');
			sbuf_add(out, at + 2, (size_t)(bar - at - 2));
			sbuf_adds(out, ") = dy.u AND dy.c = ");
			/* a constant makes a test of the outer row alone,
			 * made before the branch looks its catalog up */
			if (!strncmp(bar + 1, "pg_", 3))
				sbuf_addf(
				        out,
				        "'pg_catalog.%.*s'::pg_catalog.regclass",
				        (int)(end - bar - 1), bar + 1);
			else
				sbuf_add(out, bar + 1, (size_t)(end - bar - 1));
		} else {
			sbuf_adds(out, "true");
		}
		s = end + 1;
	}
	sbuf_adds(out, s);
	if (is_part)
		sbuf_adds(out, part_tail);
}

static int prepare(PGconn *pg, const char *name, bool is_part,
                   struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	PGresult *res;
	int rc = 0;

	build_sql(&sql, is_part);
	res = PQprepare(pg, name, sql.buf, 0, NULL);
	if (PQresultStatus(res) != PGRES_COMMAND_OK)
		rc = pgsession_error(err, pg, res);
	PQclear(res);
	sbuf_release(&sql);
	return rc;
}

static void rows_clear(struct pgschema_cache *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->rows[i].key);
		free(c->rows[i].text);
	}
	c->n = 0;
}

void pgschema_cache_release(struct pgschema_cache *c)
{
	rows_clear(c);
	free(c->rows);
	free(c->digest);
	memset(c, 0, sizeof(*c));
}

static int row_cmp(const void *a, const void *b)
{
	const struct pgschema_row *x = a, *y = b;
	int r = strcmp(x->key, y->key);

	return r ? r : strcmp(x->text, y->text);
}

static int oid_cmp(const void *a, const void *b)
{
	unsigned x = *(const unsigned *)a, y = *(const unsigned *)b;

	return x < y ? -1 : x > y;
}

/*
 * The result's rows into the cache: all of them after a full read; after
 * a partial one, the dirty objects' rows replaced by what they are now.
 */
static void rows_merge(struct pgschema_cache *c, const PGresult *res,
                       bool is_part)
{
	unsigned *dirty = NULL;
	size_t n_dirty = 0, kept = 0;
	int nt = PQntuples(res);

	if (!is_part)
		rows_clear(c);
	else {
		dirty = xcalloc((size_t)nt + 1, sizeof(*dirty));
		for (int i = 0; i < nt; i++)
			if (PQgetisnull(res, i, 1))
				dirty[n_dirty++] = (unsigned)strtoul(
				        PQgetvalue(res, i, 0), NULL, 10);
		qsort(dirty, n_dirty, sizeof(*dirty), oid_cmp);
		for (size_t i = 0; i < c->n; i++) {
			if (bsearch(&c->rows[i].unit, dirty, n_dirty,
			            sizeof(*dirty), oid_cmp)) {
				free(c->rows[i].key);
				free(c->rows[i].text);
				continue;
			}
			c->rows[kept++] = c->rows[i];
		}
		c->n = kept;
	}
	if (c->n + (size_t)nt > c->alloc) {
		c->alloc = c->n + (size_t)nt + 64;
		c->rows = xrealloc(c->rows, c->alloc * sizeof(*c->rows));
	}
	for (int i = 0; i < nt; i++) {
		struct pgschema_row *r;

		if (PQgetisnull(res, i, 1))
			continue;
		r = &c->rows[c->n++];
		r->unit = (unsigned)strtoul(PQgetvalue(res, i, 0), NULL, 10);
		r->key = xstrdup(PQgetvalue(res, i, 1));
		r->text = xstrdup(PQgetvalue(res, i, 2));
	}
	/* the order of `ORDER BY k COLLATE "C", d COLLATE "C"` */
	qsort(c->rows, c->n, sizeof(*c->rows), row_cmp);
	free(dirty);
}

/* Whether a partial read asked for a full one. */
static bool wants_full(const PGresult *res)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (PQgetisnull(res, i, 1) && !PQgetisnull(res, i, 2))
			return true;
	return false;
}

int pgschema_watch(struct strata_db *db, struct pgschema_cache *c,
                   struct strata_error *err)
{
	PGconn *pg = session_of(db->conn);
	PGresult *res = PQexec(pg, watch_sql);

	(void)err;
	/* creating event triggers takes a superuser: without, full reads */
	c->is_watching = PQresultStatus(res) == PGRES_COMMAND_OK;
	PQclear(res);
	if (!c->is_watching)
		PQclear(PQexec(pg, "ROLLBACK"));
	return 0;
}

/* The text a read begins with: its transaction, its settings and, on a
 * watched session, the check (watch_check). */
static int begin_sql(struct sbuf *sql, PGconn *pg, struct strata_db *db,
                     bool is_watching, struct strata_error *err)
{
	const struct table_name *own[4];

	sbuf_adds(sql, snapshot_begin);
	schema_own_tables(db, own);
	for (size_t i = 0; i < 3 && own[i]; i++) {
		char *lit = PQescapeLiteral(pg, own[i]->quoted,
		                            strlen(own[i]->quoted));

		if (!lit)
			return pgsession_error(err, pg, NULL);
		sbuf_addf(sql, " UNION ALL SELECT pg_catalog.to_regclass(%s)",
		          lit);
		PQfreemem(lit);
	}
	sbuf_adds(sql, snapshot_settings);
	if (is_watching)
		sbuf_adds(sql, watch_check);
	return 0;
}

/* The watch's state after a read: its digest and where the next changes'
 * transaction ids begin, from the check's row; the log emptied. */
static void keep_check(struct pgschema_cache *c, const PGresult *check)
{
	free(c->digest);
	c->digest = xstrdup(PQgetvalue(check, 0, 1));
	snprintf(c->xid, sizeof(c->xid), "%s", PQgetvalue(check, 0, 2));
}

/*
 * The usual read of a watched session in one round trip: the check, the
 * partial read, the log emptied and the commit sent as one query, the
 * partial read's result kept only if the check says it stands. 1 when it
 * did; 0 when a full read is due (the log may be emptied all the same),
 * -1 only when cancelled.
 */
static int read_at_once(struct pgschema_cache *c, PGconn *pg, const char *begin,
                        struct strata_error *err)
{
	struct sbuf sql = SBUF_INIT;
	PGresult *res, *tuples[3] = { NULL, NULL, NULL };
	size_t n_tuples = 0;
	bool is_failed = false;
	int rc = 0;

	sbuf_adds(&sql, begin);
	/* the xid is the server's number, as the check gave it */
	/*
	 * Each branch looks up one object: costing a rescan of a small
	 * catalog (pg_opclass, pg_conversion...) below its index's, the
	 * planner scanned them whole for each dirty object. The partial
	 * read is planned here only, so the setting holds for its plan.
	 */
	sbuf_addf(&sql,
	          "; SET LOCAL enable_seqscan = off;"
	          " EXECUTE " PART_STATEMENT "('%s');"
	          " DELETE FROM pg_temp.strata_proof_log; COMMIT",
	          c->xid);
	if (!PQsendQuery(pg, sql.buf))
		is_failed = true;
	while (!is_failed && (res = PQgetResult(pg))) {
		if (!pgsession_result_ok(pg, res))
			is_failed = true;
		if (PQresultStatus(res) == PGRES_TUPLES_OK && n_tuples < 3)
			tuples[n_tuples++] = res;
		else
			PQclear(res);
	}
	/* set_config()'s, the check's, the partial read's */
	if (is_failed || n_tuples < 3) {
		while ((res = PQgetResult(pg)))
			PQclear(res);
		if (PQtransactionStatus(pg) != PQTRANS_IDLE)
			PQclear(PQexec(pg, "ROLLBACK"));
		rc = cancel_check(err);
		goto done;
	}
	if (strcmp(PQgetvalue(tuples[1], 0, 0), "t") != 0) {
		c->is_watching = false;
		goto done;
	}
	if (strcmp(c->digest, PQgetvalue(tuples[1], 0, 1)) != 0 ||
	    wants_full(tuples[2]))
		goto done;
	rows_merge(c, tuples[2], true);
	keep_check(c, tuples[1]);
	rc = 1;
done:
	for (size_t i = 0; i < n_tuples; i++)
		PQclear(tuples[i]);
	sbuf_release(&sql);
	return rc;
}

int pgschema_snapshot(struct sbuf *out, struct strata_db *db,
                      struct pgschema_cache *c, struct strata_error *err)
{
	PGconn *pg = session_of(db->conn);
	struct sbuf sql = SBUF_INIT;
	PGresult *res = NULL, *check = NULL;
	bool is_begun = false, is_watched = false;
	int rc = -1, done_at_once = 0;

	if (!c->is_prepared) {
		if (prepare(pg, SNAPSHOT_STATEMENT, false, err) < 0)
			goto done;
		c->is_prepared = true;
	}
	if (begin_sql(&sql, pg, db, c->is_watching, err) < 0)
		goto done;
	if (c->is_watching && c->is_valid && c->digest) {
		if (!c->is_part_prepared) {
			if (prepare(pg, PART_STATEMENT, true, err) < 0)
				goto done;
			c->is_part_prepared = true;
		}
		done_at_once = read_at_once(c, pg, sql.buf, err);
		if (done_at_once < 0)
			goto done;
		if (done_at_once) {
			rc = 0;
			goto done;
		}
		/* a full read: the log, emptied or not, is not read again */
		if (!c->is_watching) {
			sbuf_reset(&sql);
			if (begin_sql(&sql, pg, db, false, err) < 0)
				goto done;
		}
	}
	is_begun = true;
	if (!c->is_watching) {
		if (pgsession_run(pg, sql.buf, err) < 0)
			goto done;
	} else {
		check = PQexec(pg, sql.buf);
		if (PQresultStatus(check) != PGRES_TUPLES_OK) {
			pgsession_error(err, pg, check);
			goto done;
		}
		/* the watch gone or disabled: full reads from now on */
		is_watched = !strcmp(PQgetvalue(check, 0, 0), "t");
		if (!is_watched)
			c->is_watching = false;
	}
	res = PQexecPrepared(pg, SNAPSHOT_STATEMENT, 0, NULL, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK) {
		pgsession_error(err, pg, res);
		goto done;
	}
	rows_merge(c, res, false);
	c->is_valid = is_watched;
	if (is_watched)
		keep_check(c, check);
	/* a temporary table: a read-only transaction may write it */
	rc = pgsession_run(pg,
	                   is_watched ? "DELETE FROM pg_temp.strata_proof_log;"
	                                " COMMIT"
	                              : "COMMIT",
	                   err);
	is_begun = false;
done:
	/* a failed transaction of ours must not outlive the call */
	if (is_begun)
		PQclear(PQexec(pg, "ROLLBACK"));
	if (rc < 0)
		c->is_valid = false;
	else
		for (size_t i = 0; i < c->n; i++) {
			sbuf_adds(out, c->rows[i].text);
			sbuf_adds(out, "\n\n");
		}
	PQclear(check);
	PQclear(res);
	sbuf_release(&sql);
	return rc;
}
