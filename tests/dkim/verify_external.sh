#!/bin/sh
# verify_external.sh - check every DKIM signature of a set of messages with
# two verifiers that are not libopendkim: dkimpy and Mail::DKIM.
#
# usage: verify_external.sh DIR DNSFILE
#   DIR      holds the signed messages, *.eml (CRLF line ends)
#   DNSFILE  one TXT record per line, "name record", e.g.
#            "sel._domainkey.example.org v=DKIM1; k=rsa; p=MIIB..."
#            (the format of libopendkim's DKIM_QUERY_FILE; no DNS is used)
#
# Every signature of every message is verified (not only the first).
# Mail::DKIM verifies RSA signatures; Ed25519 ones too when
# Crypt::PK::Ed25519 (CryptX) is installed, which Debian 12 lacks, so there
# they are counted as skipped.  Prints "N verified by dkimpy, M by
# Mail::DKIM" and exits 1 if any signature fails, if no signature is found,
# or if the two verifiers do not see the same number of signatures.
#
# Needs /usr/bin/python3 with Debian's python3-dkim (the python3 on PATH
# may be another build) and perl with libmail-dkim-perl (Net::DNS).
set -u

dir=${1:?usage: verify_external.sh DIR DNSFILE}
dns=${2:?usage: verify_external.sh DIR DNSFILE}
py=${PYTHON3:-/usr/bin/python3}

if ! "$py" -c 'import dkim' 2>/dev/null; then
	echo "verify_external: $py cannot import dkim (install python3-dkim)" >&2
	exit 1
fi
if ! perl -MMail::DKIM::Verifier -MNet::DNS -e 1 2>/dev/null; then
	echo "verify_external: perl lacks Mail::DKIM (install libmail-dkim-perl)" >&2
	exit 1
fi

out_py=$("$py" - "$dir" "$dns" <<'PY'
import glob, os, sys
import dkim

msgdir, dnsfile = sys.argv[1], sys.argv[2]
records = {}
with open(dnsfile) as f:
    for line in f:
        name, _, txt = line.strip().partition(" ")
        if name:
            records[name.lower()] = txt.encode()

def dnsfunc(name, timeout=5):
    if isinstance(name, bytes):
        name = name.decode("ascii")
    return records.get(name.rstrip(".").lower())

ok = bad = 0
for path in sorted(glob.glob(os.path.join(msgdir, "*.eml"))):
    with open(path, "rb") as f:
        msg = f.read()
    n = sum(1 for h in dkim.rfc822_parse(msg)[0] if h[0].lower() == b"dkim-signature")
    for i in range(n):
        d = dkim.DKIM(msg)
        try:
            good = d.verify(idx=i, dnsfunc=dnsfunc)
        except Exception as e:  # a verifier crash is a failure too
            good, why = False, repr(e)
        else:
            why = "verify returned False"
        if good:
            ok += 1
        else:
            bad += 1
            print("dkimpy FAIL %s signature %d: %s" % (os.path.basename(path), i, why),
                  file=sys.stderr)
print(ok, bad)
PY
) || exit 1

out_pl=$(perl - "$dir" "$dns" <<'PL'
use strict;
use warnings;
use Mail::DKIM::Verifier;
use Mail::DKIM::DNS;
use Net::DNS;

# A resolver answering TXT queries from the records file: Mail::DKIM::DNS
# calls $RESOLVER->send($name, $type) and reads ->errorstring.
package FakeResolver;
sub new { my ($class, $recs) = @_; return bless { recs => $recs }, $class; }
sub errorstring { return 'NOERROR'; }
sub send {
	my ($self, $name, $type) = @_;
	my $pkt = Net::DNS::Packet->new($name, $type, 'IN');
	$pkt->header->qr(1);
	my $txt = $self->{recs}{lc $name};
	if (!defined $txt || uc $type ne 'TXT') {
		$pkt->header->rcode('NXDOMAIN');
		return $pkt;
	}
	my @parts;
	push @parts, substr($txt, 0, 255, '') while length $txt;
	$pkt->push(answer => Net::DNS::RR->new(name => $name, type => 'TXT',
		txtdata => \@parts));
	return $pkt;
}

package main;
my ($dir, $dns) = @ARGV;
my %recs;
open my $fh, '<', $dns or die "$dns: $!";
while (<$fh>) {
	chomp;
	my ($name, $txt) = split / /, $_, 2;
	$recs{lc $name} = $txt if defined $txt;
}
close $fh;
Mail::DKIM::DNS::resolver(FakeResolver->new(\%recs));
my $have_ed = eval { require Crypt::PK::Ed25519; 1 } ? 1 : 0;

my ($ok, $bad, $skip) = (0, 0, 0);
for my $path (sort glob("$dir/*.eml")) {
	my $v = Mail::DKIM::Verifier->new();
	open my $m, '<:raw', $path or die "$path: $!";
	while (<$m>) { $v->PRINT($_); }
	close $m;
	$v->CLOSE();
	my $i = 0;
	for my $sig ($v->signatures) {
		my $alg = lc($sig->algorithm // '');
		if ($alg eq 'ed25519-sha256' && !$have_ed) {
			$skip++;
		} elsif ($sig->result eq 'pass') {
			$ok++;
		} else {
			$bad++;
			my $name = $path =~ s{.*/}{}r;
			print STDERR "Mail::DKIM FAIL $name signature $i ($alg): ",
				$sig->result_detail, "\n";
		}
		$i++;
	}
}
print "$ok $bad $skip\n";
PL
) || exit 1

# shellcheck disable=SC2086 # split the two count lines into words
set -- $out_py $out_pl
py_ok=$1 py_bad=$2 pl_ok=$3 pl_bad=$4 pl_skip=$5
echo "$py_ok verified by dkimpy, $pl_ok by Mail::DKIM" \
	"($pl_skip Ed25519 signatures skipped by Mail::DKIM; failures: dkimpy $py_bad, Mail::DKIM $pl_bad)"
if [ $((pl_ok + pl_bad + pl_skip)) -ne $((py_ok + py_bad)) ]; then
	echo "verify_external: dkimpy saw $((py_ok + py_bad)) signatures," \
		"Mail::DKIM $((pl_ok + pl_bad + pl_skip))" >&2
	exit 1
fi
[ "$py_bad" -eq 0 ] && [ "$pl_bad" -eq 0 ] && [ "$py_ok" -gt 0 ]
