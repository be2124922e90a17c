# Fuzz targets (tests/fuzz/README.md). Each target is one file defining
# LLVMFuzzerTestOneInput. tests/fuzz/replay_NAME links it with replay.c and
# replays its committed corpus (tests/fuzz/corpus/NAME) in `make check`,
# with any compiler and no libFuzzer; tests/fuzz/fuzz_NAME links it with
# libFuzzer for `make fuzz` (configure --enable-fuzz CC=clang-14).
FUZZ_NAMES = envelope store_object config reserved aws_json sts_xml \
	ini creds_json audit_verify cipher template gcp_json gauth_file \
	azauth azure_json vault_json pkey_pem
FUZZ_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir) -DSRCDIR=\"$(abs_top_srcdir)\"
FUZZ_COMMON = tests/fuzz/fuzz.c tests/fuzz/fuzz.h
FUZZ_REPLAY = tests/fuzz/replay.c $(FUZZ_COMMON)
FUZZ_LIB = libcmk.la $(DEP_LIBS)
FUZZ_LINK = $(AM_LDFLAGS) $(FUZZ_LDFLAGS)
FUZZ_REPLAYS = tests/fuzz/replay_envelope \
	tests/fuzz/replay_store_object \
	tests/fuzz/replay_config \
	tests/fuzz/replay_reserved \
	tests/fuzz/replay_aws_json \
	tests/fuzz/replay_sts_xml \
	tests/fuzz/replay_ini \
	tests/fuzz/replay_creds_json \
	tests/fuzz/replay_audit_verify \
	tests/fuzz/replay_cipher \
	tests/fuzz/replay_template \
	tests/fuzz/replay_gcp_json \
	tests/fuzz/replay_gauth_file \
	tests/fuzz/replay_azauth \
	tests/fuzz/replay_azure_json \
	tests/fuzz/replay_vault_json \
	tests/fuzz/replay_pkey_pem
FUZZ_BINS = tests/fuzz/fuzz_envelope \
	tests/fuzz/fuzz_store_object \
	tests/fuzz/fuzz_config \
	tests/fuzz/fuzz_reserved \
	tests/fuzz/fuzz_aws_json \
	tests/fuzz/fuzz_sts_xml \
	tests/fuzz/fuzz_ini \
	tests/fuzz/fuzz_creds_json \
	tests/fuzz/fuzz_audit_verify \
	tests/fuzz/fuzz_cipher \
	tests/fuzz/fuzz_template \
	tests/fuzz/fuzz_gcp_json \
	tests/fuzz/fuzz_gauth_file \
	tests/fuzz/fuzz_azauth \
	tests/fuzz/fuzz_azure_json \
	tests/fuzz/fuzz_vault_json \
	tests/fuzz/fuzz_pkey_pem
check_PROGRAMS += $(FUZZ_REPLAYS)
TESTS += $(FUZZ_REPLAYS)
EXTRA_PROGRAMS = $(FUZZ_BINS)

tests_fuzz_replay_envelope_SOURCES = tests/fuzz/envelope.c $(FUZZ_REPLAY)
tests_fuzz_replay_envelope_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"envelope\"
tests_fuzz_replay_envelope_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_envelope_SOURCES = tests/fuzz/envelope.c $(FUZZ_COMMON)
tests_fuzz_fuzz_envelope_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_envelope_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_envelope_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_store_object_SOURCES = tests/fuzz/store_object.c \
	$(FUZZ_REPLAY)
tests_fuzz_replay_store_object_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"store_object\"
tests_fuzz_replay_store_object_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_store_object_SOURCES = tests/fuzz/store_object.c $(FUZZ_COMMON)
tests_fuzz_fuzz_store_object_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_store_object_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_store_object_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_config_SOURCES = tests/fuzz/config.c $(FUZZ_REPLAY)
tests_fuzz_replay_config_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"config\"
tests_fuzz_replay_config_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_config_SOURCES = tests/fuzz/config.c $(FUZZ_COMMON)
tests_fuzz_fuzz_config_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_config_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_config_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_reserved_SOURCES = tests/fuzz/reserved.c $(FUZZ_REPLAY)
tests_fuzz_replay_reserved_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"reserved\"
tests_fuzz_replay_reserved_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_reserved_SOURCES = tests/fuzz/reserved.c $(FUZZ_COMMON)
tests_fuzz_fuzz_reserved_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_reserved_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_reserved_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_aws_json_SOURCES = tests/fuzz/aws_json.c $(FUZZ_REPLAY)
tests_fuzz_replay_aws_json_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"aws_json\"
tests_fuzz_replay_aws_json_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_aws_json_SOURCES = tests/fuzz/aws_json.c $(FUZZ_COMMON)
tests_fuzz_fuzz_aws_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_aws_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_aws_json_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_sts_xml_SOURCES = tests/fuzz/sts_xml.c $(FUZZ_REPLAY)
tests_fuzz_replay_sts_xml_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"sts_xml\"
tests_fuzz_replay_sts_xml_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_sts_xml_SOURCES = tests/fuzz/sts_xml.c $(FUZZ_COMMON)
tests_fuzz_fuzz_sts_xml_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_sts_xml_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_sts_xml_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_ini_SOURCES = tests/fuzz/ini.c $(FUZZ_REPLAY)
tests_fuzz_replay_ini_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"ini\"
tests_fuzz_replay_ini_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_ini_SOURCES = tests/fuzz/ini.c $(FUZZ_COMMON)
tests_fuzz_fuzz_ini_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_ini_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_ini_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_creds_json_SOURCES = tests/fuzz/creds_json.c $(FUZZ_REPLAY)
tests_fuzz_replay_creds_json_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"creds_json\"
tests_fuzz_replay_creds_json_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_creds_json_SOURCES = tests/fuzz/creds_json.c $(FUZZ_COMMON)
tests_fuzz_fuzz_creds_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_creds_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_creds_json_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_audit_verify_SOURCES = tests/fuzz/audit_verify.c \
	$(FUZZ_REPLAY)
tests_fuzz_replay_audit_verify_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"audit_verify\"
tests_fuzz_replay_audit_verify_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_audit_verify_SOURCES = tests/fuzz/audit_verify.c $(FUZZ_COMMON)
tests_fuzz_fuzz_audit_verify_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_audit_verify_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_audit_verify_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_cipher_SOURCES = tests/fuzz/cipher.c $(FUZZ_REPLAY)
tests_fuzz_replay_cipher_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"cipher\"
tests_fuzz_replay_cipher_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_cipher_SOURCES = tests/fuzz/cipher.c $(FUZZ_COMMON)
tests_fuzz_fuzz_cipher_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_cipher_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_cipher_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_template_SOURCES = tests/fuzz/template.c $(FUZZ_REPLAY) \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/scratch.c tests/lib/scratch.h
tests_fuzz_replay_template_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"template\"
tests_fuzz_replay_template_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_template_SOURCES = tests/fuzz/template.c $(FUZZ_COMMON) \
	tests/lib/tenant.c tests/lib/tenant.h tests/lib/scratch.c tests/lib/scratch.h
tests_fuzz_fuzz_template_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_template_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_template_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_gcp_json_SOURCES = tests/fuzz/gcp_json.c $(FUZZ_REPLAY)
tests_fuzz_replay_gcp_json_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"gcp_json\"
tests_fuzz_replay_gcp_json_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_gcp_json_SOURCES = tests/fuzz/gcp_json.c $(FUZZ_COMMON)
tests_fuzz_fuzz_gcp_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_gcp_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_gcp_json_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_azure_json_SOURCES = tests/fuzz/azure_json.c $(FUZZ_REPLAY)
tests_fuzz_replay_azure_json_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"azure_json\"
tests_fuzz_replay_azure_json_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_azure_json_SOURCES = tests/fuzz/azure_json.c $(FUZZ_COMMON)
tests_fuzz_fuzz_azure_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_azure_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_azure_json_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_vault_json_SOURCES = tests/fuzz/vault_json.c $(FUZZ_REPLAY)
tests_fuzz_replay_vault_json_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"vault_json\"
tests_fuzz_replay_vault_json_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_vault_json_SOURCES = tests/fuzz/vault_json.c $(FUZZ_COMMON)
tests_fuzz_fuzz_vault_json_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_vault_json_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_vault_json_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_pkey_pem_SOURCES = tests/fuzz/pkey_pem.c $(FUZZ_REPLAY)
tests_fuzz_replay_pkey_pem_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"pkey_pem\"
tests_fuzz_replay_pkey_pem_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_pkey_pem_SOURCES = tests/fuzz/pkey_pem.c $(FUZZ_COMMON)
tests_fuzz_fuzz_pkey_pem_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_pkey_pem_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_pkey_pem_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_gauth_file_SOURCES = tests/fuzz/gauth_file.c $(FUZZ_REPLAY)
tests_fuzz_replay_gauth_file_CPPFLAGS = $(FUZZ_CPPFLAGS) \
	-DFUZZ_NAME=\"gauth_file\"
tests_fuzz_replay_gauth_file_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_gauth_file_SOURCES = tests/fuzz/gauth_file.c $(FUZZ_COMMON)
tests_fuzz_fuzz_gauth_file_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_gauth_file_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_gauth_file_LDADD = $(FUZZ_LIB)
tests_fuzz_replay_azauth_SOURCES = tests/fuzz/azauth.c $(FUZZ_REPLAY)
tests_fuzz_replay_azauth_CPPFLAGS = $(FUZZ_CPPFLAGS) -DFUZZ_NAME=\"azauth\"
tests_fuzz_replay_azauth_LDADD = $(FUZZ_LIB)
tests_fuzz_fuzz_azauth_SOURCES = tests/fuzz/azauth.c $(FUZZ_COMMON)
tests_fuzz_fuzz_azauth_CPPFLAGS = $(FUZZ_CPPFLAGS)
tests_fuzz_fuzz_azauth_LDFLAGS = $(FUZZ_LINK)
tests_fuzz_fuzz_azauth_LDADD = $(FUZZ_LIB)

# make fuzz: each target for FUZZ_SECONDS, FUZZ_JOBS targets at a time;
# new corpus entries, crashes and logs under FUZZ_OUT.
FUZZ_SECONDS = 600
FUZZ_JOBS = 2
FUZZ_TARGETS = $(FUZZ_NAMES)
FUZZ_OUT = $(abs_top_builddir)/fuzz-out
if FUZZ
fuzz: $(FUZZ_BINS)
	FUZZ_SECONDS='$(FUZZ_SECONDS)' FUZZ_JOBS='$(FUZZ_JOBS)' \
	FUZZ_TARGETS='$(FUZZ_TARGETS)' FUZZ_OUT='$(FUZZ_OUT)' \
	$(SHELL) $(top_srcdir)/tests/fuzz/run.sh '$(abs_top_srcdir)' \
		'$(abs_top_builddir)'
else
fuzz:
	@echo "make fuzz needs a build configured with --enable-fuzz" \
		"CC=clang-14 (tests/fuzz/README.md)" >&2; exit 1
endif
.PHONY: fuzz
EXTRA_DIST += tests/fuzz/README.md tests/fuzz/run.sh tests/fuzz/corpus
