#!/usr/bin/env bats
# strata backup prune: a folder of dated backups (made at given times with
# STRATA_NOW) pruned exactly as the retention policy says, dry run first.

load lib

NOW=2025-03-15T12:00:00Z

setup_file() {
	# the dated backups, made once for the file's tests
	mkdir -p "$BATS_FILE_TMPDIR/fixture/migrations"
	(
		cd "$BATS_FILE_TMPDIR/fixture" &&
			export DATABASE_URL=sqlite:$PWD/test.db &&
			dated_backups
	)
}
teardown_file() { :; }
setup() { sqlite_db; }

copy_dated_backups() {
	cp -a "$BATS_FILE_TMPDIR/fixture/backups" .
}

# Full backups at 02:00 every day from 2024-11-01 to 2025-03-15 and one more
# at 10:00 on the last day; a schema backup; pre-migration backups taken by
# run --backup 1, 23, 33 and 104 days before NOW. The daily ones are one real
# backup and copies of it under other dates (its manifest with another
# time and file name, the file hard-linked): prune reads only manifests.
dated_backups() {
	local i v=0 when epoch stamp iso first tmpl
	write_migration 1_a.sql "CREATE TABLE a (id INTEGER);"
	write_migration 2_b.sql "CREATE TABLE b (id INTEGER);"
	write_migration 3_c.sql "CREATE TABLE c (id INTEGER);"
	write_migration 4_d.sql "CREATE TABLE d (id INTEGER);"
	for when in 2024-12-01T09:00:00Z 2025-02-10T09:00:00Z 2025-02-20T09:00:00Z 2025-03-14T09:00:00Z; do
		v=$((v + 1))
		STRATA_NOW=$when strata -q run --backup --target-version $v
	done
	STRATA_NOW=2025-03-15T10:00:00Z strata -q backup
	STRATA_NOW=2025-03-01T05:00:00Z strata -q backup --kind schema
	STRATA_NOW=2024-11-01T02:00:00Z strata -q backup
	first=test-20241101T020000Z-full
	tmpl=$(<"backups/$first.json")
	epoch=$(date -u -d 2024-11-01T02:00:00Z +%s)
	for i in $(seq 1 134); do
		TZ=UTC printf -v stamp '%(%Y%m%dT%H%M%SZ)T' $((epoch + i * 86400))
		TZ=UTC printf -v iso '%(%Y-%m-%dT%H:%M:%SZ)T' $((epoch + i * 86400))
		tmpl_i=${tmpl//20241101T020000Z/$stamp}
		printf '%s\n' "${tmpl_i//2024-11-01T02:00:00Z/$iso}" >"backups/test-$stamp-full.json"
		ln "backups/$first.sqlite" "backups/test-$stamp-full.sqlite"
	done
	[[ $(ls backups/*.json | wc -l) == 141 ]]
	[[ $(jq -r .created_at backups/test-20250314T020000Z-full.json) == 2025-03-14T02:00:00Z ]]
}

names() {
	ls backups | sed -E 's/\.(sqlite|json)$//' | sort -u
}

@test "prune: the default policy (7 daily, 4 weekly, 12 monthly, 30 days of pre-migration), dry run then real" {
	copy_dated_backups
	touch -d 2025-03-13T00:00:00Z backups/.backup.part-OLD123
	touch backups/.backup.part-NEW456
	before=$(names)

	run env STRATA_NOW=$NOW strata backup prune --dry-run
	assert_success
	assert_line "16 kept, 125 to remove (dry run: nothing was removed)."
	assert_line "keep         backups/test-20250315T100000Z-full.sqlite (daily 2025-03-15, weekly 2025-W11, monthly 2025-03)"
	assert_line "would remove backups/test-20250315T020000Z-full.sqlite (not kept by the policy)"
	assert_line "keep         backups/test-20250309T020000Z-full.sqlite (daily 2025-03-09, weekly 2025-W10)"
	assert_line "keep         backups/test-20241130T020000Z-full.sqlite (monthly 2024-11)"
	assert_line "keep         backups/test-20250314T090000Z-full-pre-migration-4.sqlite (pre-migration, 27 hours old)"
	assert_line "would remove backups/test-20250210T090000Z-full-pre-migration-2.sqlite (pre-migration, 33 days old, over 30 days)"
	assert_line "would remove backups/.backup.part-OLD123 (incomplete, over a day old)"
	assert_equal "$(names)" "$before"
	[[ -e backups/.backup.part-OLD123 ]]

	run env STRATA_NOW=$NOW strata backup prune
	assert_success
	assert_line "16 kept, 125 removed."
	assert_equal "$(names)" "test-20241130T020000Z-full
test-20241231T020000Z-full
test-20250131T020000Z-full
test-20250220T090000Z-full-pre-migration-3
test-20250223T020000Z-full
test-20250228T020000Z-full
test-20250301T050000Z-schema
test-20250302T020000Z-full
test-20250309T020000Z-full
test-20250310T020000Z-full
test-20250311T020000Z-full
test-20250312T020000Z-full
test-20250313T020000Z-full
test-20250314T020000Z-full
test-20250314T090000Z-full-pre-migration-4
test-20250315T100000Z-full"
	[[ ! -e backups/.backup.part-OLD123 && -e backups/.backup.part-NEW456 ]]
	# every survivor is whole: file and manifest
	assert_equal "$(ls backups/*.sqlite | wc -l)" 16
	assert_equal "$(ls backups/*.json | wc -l)" 16

	# again: nothing more to remove
	run env STRATA_NOW=$NOW strata backup prune
	assert_success
	assert_line "16 kept, 0 removed."
}

@test "prune: a tighter policy, in JSON; bad values are usage errors" {
	copy_dated_backups
	run env STRATA_NOW=$NOW strata --format json backup prune --keep-daily 2 --keep-weekly 0 --keep-monthly 1 --keep-pre-migration 2d
	assert_success
	assert_equal "$(jq -r '.kept[].file' <<<"$output" | sort | xargs)" \
		"backups/test-20250301T050000Z-schema.sqlite backups/test-20250314T020000Z-full.sqlite backups/test-20250314T090000Z-full-pre-migration-4.sqlite backups/test-20250315T100000Z-full.sqlite"
	assert_equal "$(jq -r '.removed | length' <<<"$output")" 137
	assert_equal "$(ls backups/*.sqlite | wc -l)" 4
	run env STRATA_NOW=$NOW strata backup prune --keep-pre-migration forever --keep-daily 0 --keep-weekly 0 --keep-monthly 0 --dry-run
	assert_success
	assert_line "1 kept, 3 to remove (dry run: nothing was removed)."
	run strata backup prune --keep-daily -1
	assert_failure 2
	run strata backup prune --keep-pre-migration soon
	assert_failure 2
	run env STRATA_NOW=yesterday strata backup prune
	assert_failure 2
	assert_output --partial "STRATA_NOW"
}

@test "backup list: oldest first, with kind, tag and newest applied version; incomplete ones named" {
	write_migration 1_a.sql "CREATE TABLE a (id INTEGER);"
	strata run >/dev/null
	STRATA_NOW=2025-01-02T00:00:00Z strata -q backup --tag second
	STRATA_NOW=2025-01-01T00:00:00Z strata -q backup --kind schema
	touch backups/.backup.part-XYZ
	echo '{"not": "ours"}' >backups/other.json
	run --separate-stderr strata backup list
	assert_success
	assert_line --index 0 --regexp '^CREATED +KIND +FORMAT +SIZE +NEWEST APPLIED +TAG +FILE$'
	assert_line --index 1 --regexp '^2025-01-01T00:00:00Z +schema +custom +[0-9.]+ KiB +1 +- +backups/test-20250101T000000Z-schema.sqlite$'
	assert_line --index 2 --regexp '^2025-01-02T00:00:00Z +full +custom +[0-9.]+ KiB +1 +second +backups/test-20250102T000000Z-full-second.sqlite$'
	[[ $stderr == *"warning: 'backups/.backup.part-XYZ' is an incomplete backup"* ]]
	rm backups/test-20250102T000000Z-full-second.sqlite
	run strata backup list
	assert_output --partial "second.sqlite (file missing)"
	run strata backup list --dir nowhere
	assert_success
	assert_output "No backups in nowhere."
}
