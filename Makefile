# sercom: build, deps, check, bench, demo, install.
# Programs are linked from explicit object lists (one line per program) so a
# module being written cannot break the build of programs that do not use it.

PREFIX  ?= /usr/local
DESTDIR ?=
MANDIR  ?= $(PREFIX)/share/man
# systemd looks in /usr/local/lib/systemd/system too; the package passes
# /lib/systemd/system (Debian 12's place for units)
UNITDIR ?= $(PREFIX)/lib/systemd/system
SHAREDIR = $(PREFIX)/share/sercom
VERSION  = $(shell sed -n 's/^#define SERCOM_VERSION "\(.*\)"/\1/p' src/util.h)
CC      ?= cc
CFLAGS  ?= -O2 -g
PKGS     = gmime-3.0 glib-2.0 gio-2.0 sqlite3 libseccomp libarchive libetpan gnutls

WARN     = -Wall -Wextra -Werror -Wstrict-prototypes -Wmissing-prototypes -Wshadow \
           -Wno-unused-parameter
HARDEN   = -D_FORTIFY_SOURCE=2 -fstack-protector-strong -fPIE
ALL_CFLAGS  = -std=gnu11 $(CFLAGS) $(WARN) $(HARDEN) -Isrc $(shell pkg-config --cflags $(PKGS))
# the installed reply templates, used by an instance without its own (conf.c)
ALL_CFLAGS += -DSERCOM_TEMPLATES_DIR='"$(PREFIX)/share/sercom/templates"'
ALL_LDFLAGS = $(LDFLAGS) -pie -Wl,-z,relro,-z,now -Wl,--as-needed
LIBS     = $(shell pkg-config --libs $(PKGS)) -lpthread -lm

# sercom-deliver runs once per mail and only queues it (sercom-deliver.c): it
# links the C library alone, dynamically, like procmail; a security update
# of a library reaches every program without a relink.
LIBS_sercom-deliver = -lc

# SANITIZE=1 builds everything under build-san/ with ASan and UBSan.
ifeq ($(SANITIZE),1)
BUILD   = build-san
BIN     = build-san/bin
ALL_CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined -U_FORTIFY_SOURCE
ALL_LDFLAGS += -fsanitize=address,undefined
else
BUILD   = build
BIN     = bin
endif
OBJ = $(BUILD)/obj

# --- modules used by each program -------------------------------------------
CORE        = util log conf store spool score bounce tpl casewords verdict
MAIL        = mime unpack policy authres ingest intake envelope exercise compare
SANDBOX     = sandbox sandbox-box sandbox-cgroup sandbox-seccomp
GRADE       = diff grade queue report feedback
COMPOSE     = compose results transport reveal grades table

# each program's main is src/PROGRAM.c
OBJS_sercom-deliver = sercom-deliver envelope
OBJS_sercom-sandbox = sercom-sandbox util log $(SANDBOX)
OBJS_sercom-runner  = sercom-runner $(CORE) $(MAIL) $(SANDBOX) $(GRADE) $(COMPOSE)
OBJS_sercom         = sercom doctor $(CORE) $(MAIL) $(SANDBOX) $(GRADE) $(COMPOSE)

PROGS      = sercom-deliver sercom-sandbox sercom-runner sercom

# Unit tests: tests/unit/test_NAME.c links the objects in UNIT_NAME.
UNIT_util     = util log
UNIT_conf     = conf util log
UNIT_store    = store util log conf
UNIT_spool    = spool envelope util log
UNIT_mime     = mime util log
UNIT_unpack   = unpack mime util log
UNIT_policy   = policy mime conf util log score
UNIT_authres  = authres
UNIT_exercise = exercise compare conf util log score
UNIT_compare  = compare util log
UNIT_diff     = diff compare util log
UNIT_COMPOSE  = compose feedback results tpl casewords verdict mime transport bounce reveal grades table exercise compare store conf util log spool envelope score
UNIT_compose  = $(UNIT_COMPOSE)
UNIT_transport = $(UNIT_COMPOSE)
UNIT_sandbox  = $(SANDBOX) util log
UNIT_queue    = queue verdict store conf util log
UNIT_table    = table util log
UNIT_score    = score
UNIT_verdict  = verdict
UNIT_reveal   = $(UNIT_COMPOSE)
UNIT_bounce   = bounce mime store conf util log
UNIT_report   = report feedback tpl casewords verdict diff score queue store exercise compare conf util log
UNITS = $(patsubst tests/unit/test_%.c,%,$(wildcard tests/unit/test_*.c))

.PHONY: all deps check unit tap bench demo install deb clean fuzz mutants
all: $(addprefix $(BIN)/,$(PROGS))

# V=1 shows the full command lines.
Q = $(if $(V),,@)
# -MMD -MP: each object depends on the headers it includes (build/obj/*.d)
$(OBJ)/%.o: src/%.c | $(OBJ)
	@$(if $(V),,echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<
-include $(wildcard $(OBJ)/*.d)

$(OBJ):
	mkdir -p $@ $(BIN) $(BUILD)/tests

.SECONDEXPANSION:
$(BIN)/%: $$(addprefix $(OBJ)/,$$(addsuffix .o,$$(OBJS_$$*))) | $(OBJ)
	@$(if $(V),,echo "  LINK    $@")
	$(Q)$(CC) $(ALL_LDFLAGS) -o $@ $(filter %.o,$^) $(or $(LIBS_$*),$(LIBS))

$(BUILD)/tests/test_%: tests/unit/test_%.c $$(addprefix $(OBJ)/,$$(addsuffix .o,$$(UNIT_$$*))) | $(OBJ)
	@$(if $(V),,echo "  TEST    $@")
	$(Q)$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -MMD -MP -o $@ $(filter %.c %.o,$^) $(LIBS) -lcmocka
-include $(wildcard $(BUILD)/tests/*.d)

# Debian packages the build, the tests and the benchmarks need.
DEB_PKGS = build-essential pkg-config libgmime-3.0-dev libglib2.0-dev libetpan-dev \
  libgpgme-dev libassuan-dev libgpg-error-dev libidn2-dev libunistring-dev libffi-dev nettle-dev \
  zlib1g-dev libbz2-dev liblzma-dev libzstd-dev libmount-dev libblkid-dev libselinux1-dev libpcre2-dev \
  libsqlite3-dev sqlite3 libseccomp-dev libarchive-dev libcmocka-dev libgnutls28-dev \
  clang libclang-rt-14-dev postfix procmail maildrop bubblewrap zip unzip p7zip-full \
  libarchive-tools time xz-utils bzip2 ca-certificates perl patch chromium sasl2-bin openssl python3 procps strace \
  opendkim opendkim-tools python3-dkim python3-jsonschema \
  debhelper dpkg-dev fakeroot lintian debootstrap mandoc groff-base man-db
deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
	  echo "installing:" $$missing; \
	  if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root to install" >&2; exit 1; fi; \
	  echo "postfix postfix/main_mailer_type select Local only" | debconf-set-selections; \
	  echo "postfix postfix/mailname string localhost" | debconf-set-selections; \
	  apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	else echo "all build and test packages present"; fi

unit: $(addprefix $(BUILD)/tests/test_,$(UNITS))
	@fail=0; for t in $^; do echo "# $$t"; $$t || fail=1; done; exit $$fail

tap: all
	SERCOM_BIN=$(CURDIR)/$(BIN) SERCOM_TOP=$(CURDIR) prove -v tests/t/

# make check: unit tests then TAP scripts; prove prints the summary.
check: deps all $(addprefix $(BUILD)/tests/test_,$(UNITS))
	@echo "== unit tests (cmocka)"
	@fail=0; for t in $(addprefix $(BUILD)/tests/test_,$(UNITS)); do $$t || fail=1; done; \
	 echo "== integration tests (TAP)"; \
	 SERCOM_BIN=$(CURDIR)/$(BIN) SERCOM_TOP=$(CURDIR) SANITIZE=$(SANITIZE) prove tests/t/ || fail=1; \
	 if [ $$fail = 0 ]; then echo "make check: all passed"; else echo "make check: FAILED"; fi; exit $$fail

bench: all
	@for b in tests/bench/*.sh; do echo "== $$b"; SERCOM_BIN=$(CURDIR)/$(BIN) SERCOM_TOP=$(CURDIR) bash $$b || exit 1; done

demo: deps all
	@bash tests/demo.sh

# make mutants: every mutation of tests/mutants/list, applied alone to a
# scratch copy, must be caught by the tests it names (tests/mutants/run.sh)
mutants: deps
	@bash tests/mutants/run.sh

fuzz:
	$(MAKE) -C tests/fuzz run FUZZ_SECONDS=$${FUZZ_SECONDS:-60}

# make install: the programs, the man pages, the systemd unit (not enabled),
# the built-in reply templates, the mail system filters and the examples
# (sercom.conf, the exercise tp1) under $(PREFIX)/share/sercom; paths in the
# unit and the filters follow PREFIX.
MAN_PAGES = $(wildcard man/*.[158])
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(SHAREDIR)/examples $(DESTDIR)$(SHAREDIR)/filters $(DESTDIR)$(UNITDIR)
	install -m 755 $(addprefix $(BIN)/,$(PROGS)) $(DESTDIR)$(PREFIX)/bin/
	cp -r conf/templates $(DESTDIR)$(SHAREDIR)/
	cp -r conf/exercises $(DESTDIR)$(SHAREDIR)/examples/
	install -m 644 conf/sercom.conf $(DESTDIR)$(SHAREDIR)/examples/
	for f in filters/*; do sed 's|/usr/local/bin/|$(PREFIX)/bin/|g' $$f > $(DESTDIR)$(SHAREDIR)/$$f || exit 1; done
	sed 's|/usr/bin/|$(PREFIX)/bin/|g' conf/sercom-runner.service > $(DESTDIR)$(UNITDIR)/sercom-runner.service
	for p in $(MAN_PAGES); do \
	  install -d $(DESTDIR)$(MANDIR)/man$${p##*.} && install -m 644 $$p $(DESTDIR)$(MANDIR)/man$${p##*.}/ || exit 1; done
	@echo "installed; the runner's unit is not enabled: systemctl enable --now sercom-runner"

# make deb: build/sercom_VERSION_ARCH.deb with debhelper (debian/), built in
# a copy of the tree under build/deb so the checkout stays as it is.
DEB_ARCH = $(shell dpkg --print-architecture)
DEB      = build/sercom_$(VERSION)_$(DEB_ARCH).deb
deb:
	@v=$$(dpkg-parsechangelog -S Version); [ "$$v" = "$(VERSION)" ] || { \
	  echo "make deb: debian/changelog says $$v, src/util.h $(VERSION): add a changelog entry" >&2; exit 1; }
	rm -rf build/deb && mkdir -p build/deb/sercom-$(VERSION)
	tar -cf - --exclude-vcs --exclude=./build --exclude=./build-san --exclude=./bin --exclude=./var \
	  --exclude=./tests --exclude=./maildir-fixtures . | tar -xf - -C build/deb/sercom-$(VERSION)
	cd build/deb/sercom-$(VERSION) && env -u SANITIZE -u MAKEFLAGS -u MAKELEVEL -u MFLAGS \
	  DEB_BUILD_OPTIONS="nocheck parallel=2 $(DEB_BUILD_OPTIONS)" dpkg-buildpackage -b -us -uc
	cp build/deb/sercom_$(VERSION)_$(DEB_ARCH).deb $(DEB)
	@echo "built $(DEB)"

clean:
	rm -rf build build-san bin

# objects are intermediate files of the pattern rules: keep them, or every
# make deletes them and the next one compiles everything again
.SECONDARY:
