package sfemu

import (
	"strings"
)

// Record ids are 15-character case-sensitive base-62 strings plus a 3-character
// case-insensitive checksum (codegolf.stackexchange.com/questions/69127; the doc samples
// 001D000000IRFmaIAH and 003RO0000035WQgYAM follow it).

const (
	base62        = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
	checksumChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
	podChars      = "5g" // chars 4-5 of an id: the pod/instance
)

// idChecksum returns the 3-character suffix that turns a 15-character id into its 18-character form.
func idChecksum(id15 string) string {
	var out [3]byte
	for chunk := 0; chunk < 3; chunk++ {
		n := 0
		for i := 0; i < 5; i++ {
			c := id15[chunk*5+i]
			if c >= 'A' && c <= 'Z' {
				n |= 1 << i
			}
		}
		out[chunk] = checksumChars[n]
	}
	return string(out[:])
}

// makeID builds an 18-character id from a 3-character key prefix and a sequence number.
func makeID(prefix string, seq uint64) string {
	var b [15]byte
	copy(b[:3], prefix)
	b[3], b[4] = podChars[0], podChars[1]
	for i := 14; i >= 5; i-- {
		b[i] = base62[seq%62]
		seq /= 62
	}
	s := string(b[:])
	return s + idChecksum(s)
}

func isBase62(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// normalizeID returns the 18-character form of a 15- or 18-character id, or ok=false when
// the string is not shaped like an id (wrong length, characters, or checksum).
// Salesforce accepts either form on input; the checksum part is case-insensitive.
func normalizeID(s string) (string, bool) {
	switch len(s) {
	case 15:
		if !isBase62(s) {
			return "", false
		}
		return s + idChecksum(s), true
	case 18:
		if !isBase62(s) {
			return "", false
		}
		if !strings.EqualFold(s[15:], idChecksum(s[:15])) {
			return "", false
		}
		return s[:15] + idChecksum(s[:15]), true
	}
	return "", false
}

// looksLikeID reports whether s is 15 or 18 base-62 characters (whatever the checksum).
func looksLikeID(s string) bool {
	return (len(s) == 15 || len(s) == 18) && isBase62(s)
}
