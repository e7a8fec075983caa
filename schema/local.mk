# schema/: numbered SQL migrations, compiled into scopd as a C table.
# A new migration is a new file here, listed in order after the others.
SCHEMA_SQL = \
	schema/sqlite/001_accounts.sql \
	schema/sqlite/002_events.sql \
	schema/sqlite/003_access_token_used.sql \
	schema/postgres/001_accounts.sql \
	schema/postgres/002_events.sql \
	schema/postgres/003_access_token_used.sql \
	schema/sqlite/010_rooms.sql \
	schema/postgres/010_rooms.sql \
	schema/sqlite/011_room_extras.sql \
	schema/postgres/011_room_extras.sql \
	schema/sqlite/012_relations_search.sql \
	schema/postgres/012_relations_search.sql \
	schema/sqlite/013_remote_events.sql \
	schema/postgres/013_remote_events.sql \
	schema/sqlite/014_state_deltas.sql \
	schema/postgres/014_state_deltas.sql \
	schema/sqlite/016_receipt_threads.sql \
	schema/postgres/016_receipt_threads.sql \
	schema/sqlite/017_soft_failed_state.sql \
	schema/postgres/017_soft_failed_state.sql \
	schema/sqlite/060_json_nul.sql \
	schema/postgres/060_json_nul.sql \
	schema/sqlite/065_member_domains.sql \
	schema/postgres/065_member_domains.sql

EXTRA_DIST += $(SCHEMA_SQL) schema/embed.sh schema/README.md
BUILT_SOURCES += schema/migrations.c
CLEANFILES += schema/migrations.c

schema/migrations.c: $(SCHEMA_SQL) schema/embed.sh
	$(AM_V_GEN)mkdir -p schema && \
	$(SHELL) $(top_srcdir)/schema/embed.sh $(top_srcdir) $(SCHEMA_SQL) >$@.tmp && \
	mv $@.tmp $@
