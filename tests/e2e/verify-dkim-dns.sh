#!/bin/sh
# verify-dkim-dns.sh FILE: verify every DKIM signature of message FILE with
# dkimpy and Mail::DKIM, looking keys up in real DNS (run it inside the test's
# network namespace).  Prints one line:
#   "signatures=N dkimpy=P mail-dkim=Q mail-dkim-skipped=S"
# where P and Q count signatures that verified (Mail::DKIM in Debian 12 has
# no Ed25519: those are counted in S, not as failures).  Exit 0 when every
# signature verified by every verifier that supports it and N > 0.
set -u
f=$1
py=$(/usr/bin/python3 - "$f" <<'PY'
import sys, dkim
msg = open(sys.argv[1], "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
n = sum(1 for line in msg.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
        if line.lower().startswith(b"dkim-signature:"))
d = dkim.DKIM(msg)
ok = 0
for i in range(n):
    try:
        ok += bool(d.verify(idx=i))
    except Exception as e:
        print("dkimpy error:", e, file=sys.stderr)
print(n, ok)
PY
)
pl=$(perl -MMail::DKIM::Verifier -e '
	my $v = Mail::DKIM::Verifier->new();
	open(my $fh, "<", $ARGV[0]) or die;
	while (<$fh>) { s/\r?\n$/\r\n/; $v->PRINT($_); }
	$v->CLOSE;
	my ($ok, $skip) = (0, 0);
	foreach my $s ($v->signatures) {
		if ($s->algorithm =~ /ed25519/) { $skip++; next; }
		if ($s->result eq "pass") { $ok++ } else { print STDERR "Mail::DKIM: ", $s->result_detail, "\n" }
	}
	print "$ok $skip\n";' "$f")
set -- $py $pl
echo "signatures=$1 dkimpy=$2 mail-dkim=$3 mail-dkim-skipped=$4"
[ "$1" -gt 0 ] && [ "$2" -eq "$1" ] && [ $(($3 + $4)) -eq "$1" ]
