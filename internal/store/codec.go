package store

import (
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Canonical values are stored as type-tagged text so that null and "",
// booleans and integers, decimals and strings stay distinct:
//
//	"n"        nil
//	"s<text>"  string
//	"b1" "b0"  bool
//	"i<n>"     int64
//	"d<text>"  syncd.Decimal
//
// A set of field values (a write in flight, a dead letter's payload) is a JSON
// object of such strings. No value is JSON null, so SQLite's json_patch
// merges two sets field by field.

// appendValue appends the tagged form of v.
func appendValue(b []byte, v syncd.Value) ([]byte, error) {
	switch x := v.(type) {
	case nil:
		return append(b, 'n'), nil
	case string:
		return append(append(b, 's'), x...), nil
	case bool:
		if x {
			return append(b, "b1"...), nil
		}
		return append(b, "b0"...), nil
	case int64:
		return strconv.AppendInt(append(b, 'i'), x, 10), nil
	case int:
		return strconv.AppendInt(append(b, 'i'), int64(x), 10), nil
	case syncd.Decimal:
		return append(append(b, 'd'), x...), nil
	}
	return b, fmt.Errorf("value %v (%T) is not canonical", v, v)
}

// encodeValue returns the tagged form of v.
func encodeValue(v syncd.Value) (string, error) {
	b, err := appendValue(make([]byte, 0, 16), v)
	return string(b), err
}

// decodeValue parses a tagged value.
func decodeValue(s string) (syncd.Value, error) {
	if s == "" {
		return nil, fmt.Errorf("empty tagged value")
	}
	body := s[1:]
	switch s[0] {
	case 'n':
		return nil, nil
	case 's':
		return body, nil
	case 'b':
		return body == "1", nil
	case 'i':
		n, err := strconv.ParseInt(body, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tagged value %q: %w", s, err)
		}
		return n, nil
	case 'd':
		return syncd.Decimal(body), nil
	}
	return nil, fmt.Errorf("tagged value %q has an unknown tag", s)
}

// encodeValues renders a field set as a JSON object of tagged values, keys
// sorted.
func encodeValues(m map[string]syncd.Value) (string, error) {
	if len(m) == 0 {
		return "{}", nil
	}
	var keysBuf [32]string
	keys := keysBuf[:0]
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b := make([]byte, 0, 32*len(m))
	b = append(b, '{')
	var tmp []byte
	for i, k := range keys {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, k)
		b = append(b, ':')
		var err error
		tmp, err = appendValue(tmp[:0], m[k])
		if err != nil {
			return "", fmt.Errorf("field %s: %w", k, err)
		}
		b = appendJSONString(b, string(tmp))
	}
	b = append(b, '}')
	return string(b), nil
}

// decodeValues parses a JSON object of tagged values.
func decodeValues(s string) (map[string]syncd.Value, error) {
	out := make(map[string]syncd.Value, 12)
	if s == "" || s == "{}" {
		return out, nil
	}
	if err := decodeFlat(s, func(k, v string) error {
		val, err := decodeValue(v)
		if err != nil {
			return err
		}
		out[k] = val
		return nil
	}); err != nil {
		// Not our compact form (edited by hand?): fall back to encoding/json.
		var raw map[string]string
		if jerr := json.Unmarshal([]byte(s), &raw); jerr != nil {
			return nil, fmt.Errorf("decode values %.40q: %w", s, err)
		}
		clear(out)
		for k, v := range raw {
			val, err := decodeValue(v)
			if err != nil {
				return nil, err
			}
			out[k] = val
		}
	}
	return out, nil
}

const hexDigits = "0123456789abcdef"

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	return append(appendJSONBody(append(b, '"'), s), '"')
}

// appendJSONBody appends s escaped for a JSON string, without the quotes.
func appendJSONBody(b []byte, s string) []byte {
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				// Invalid UTF-8 cannot be represented in JSON; SQLite's JSON
				// functions would reject or alter it. Replace it, as
				// encoding/json does.
				b = append(b, s[start:i]...)
				b = append(b, `\ufffd`...)
				i += size
				start = i
				continue
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch c {
		case '"':
			b = append(b, '\\', '"')
		case '\\':
			b = append(b, '\\', '\\')
		case '\n':
			b = append(b, '\\', 'n')
		case '\r':
			b = append(b, '\\', 'r')
		case '\t':
			b = append(b, '\\', 't')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		}
		i++
		start = i
	}
	return append(b, s[start:]...)
}

// decodeFlat parses a JSON object whose values are all strings and calls
// fn for each member.
func decodeFlat(s string, fn func(k, v string) error) error {
	i := skipWS(s, 0)
	if i >= len(s) || s[i] != '{' {
		return fmt.Errorf("expected {")
	}
	i = skipWS(s, i+1)
	if i < len(s) && s[i] == '}' {
		return nil
	}
	for {
		k, j, err := parseJSONString(s, i)
		if err != nil {
			return err
		}
		i = skipWS(s, j)
		if i >= len(s) || s[i] != ':' {
			return fmt.Errorf("expected :")
		}
		i = skipWS(s, i+1)
		v, j, err := parseJSONString(s, i)
		if err != nil {
			return err
		}
		if err := fn(k, v); err != nil {
			return err
		}
		i = skipWS(s, j)
		if i >= len(s) {
			return fmt.Errorf("unterminated object")
		}
		switch s[i] {
		case ',':
			i = skipWS(s, i+1)
		case '}':
			if skipWS(s, i+1) != len(s) {
				return fmt.Errorf("trailing data")
			}
			return nil
		default:
			return fmt.Errorf("expected , or }")
		}
	}
}

func skipWS(s string, i int) int {
	for i < len(s) && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r') {
		i++
	}
	return i
}

// parseJSONString parses the JSON string starting at s[i] and returns it and
// the index after it.
func parseJSONString(s string, i int) (string, int, error) {
	if i >= len(s) || s[i] != '"' {
		return "", i, fmt.Errorf("expected string")
	}
	i++
	start := i
	// Fast path: no escapes.
	for i < len(s) {
		c := s[i]
		if c == '"' {
			return s[start:i], i + 1, nil
		}
		if c == '\\' {
			break
		}
		i++
	}
	b := []byte(s[start:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c == '"':
			return string(b), i + 1, nil
		case c != '\\':
			b = append(b, c)
			i++
			continue
		}
		if i+1 >= len(s) {
			return "", i, fmt.Errorf("bad escape")
		}
		e := s[i+1]
		i += 2
		switch e {
		case '"', '\\', '/':
			b = append(b, e)
		case 'b':
			b = append(b, '\b')
		case 'f':
			b = append(b, '\f')
		case 'n':
			b = append(b, '\n')
		case 'r':
			b = append(b, '\r')
		case 't':
			b = append(b, '\t')
		case 'u':
			r, ok := hex4(s, i)
			if !ok {
				return "", i, fmt.Errorf("bad \\u escape")
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
					if r2, ok := hex4(s, i+2); ok {
						if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
							r = dec
							i += 6
						} else {
							r = utf8.RuneError
						}
					}
				} else {
					r = utf8.RuneError
				}
			}
			b = utf8.AppendRune(b, r)
		default:
			return "", i, fmt.Errorf("bad escape \\%c", e)
		}
	}
	return "", i, fmt.Errorf("unterminated string")
}

func hex4(s string, i int) (rune, bool) {
	if i+4 > len(s) {
		return 0, false
	}
	var r rune
	for _, c := range []byte(s[i : i+4]) {
		r <<= 4
		switch {
		case c >= '0' && c <= '9':
			r |= rune(c - '0')
		case c >= 'a' && c <= 'f':
			r |= rune(c - 'a' + 10)
		case c >= 'A' && c <= 'F':
			r |= rune(c - 'A' + 10)
		default:
			return 0, false
		}
	}
	return r, true
}
