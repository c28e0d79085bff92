package sf

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

// Values cross the wire as Salesforce's REST JSON renders them (decoded
// with json.Decoder.UseNumber, so numbers arrive as json.Number) and are
// converted here, once, to and from syncd's canonical form (syncd.Value),
// driven by the field's Kind.

// KindOf resolves a describe type ("string", "currency", "datetime", ...)
// to the canonical representation of its values.
func KindOf(describeType string) syncd.Kind {
	switch strings.ToLower(describeType) {
	case "boolean":
		return syncd.KindBool
	case "int":
		return syncd.KindInt
	case "double":
		return syncd.KindDouble
	case "currency", "percent", "long":
		return syncd.KindDecimal
	case "date":
		return syncd.KindDate
	case "datetime":
		return syncd.KindDateTime
	case "time":
		return syncd.KindTime
	case "multipicklist":
		return syncd.KindMultiPicklist
	}
	return syncd.KindText
}

// FromWire converts a value decoded from Salesforce JSON into canonical
// form for a field of kind k.
func FromWire(k syncd.Kind, v any) (syncd.Value, error) {
	if v == nil {
		return nil, nil
	}
	switch k {
	case syncd.KindBool:
		if b, ok := v.(bool); ok {
			return b, nil
		}
	case syncd.KindInt:
		switch n := v.(type) {
		case json.Number:
			if i, err := n.Int64(); err == nil {
				return i, nil
			}
			d, err := syncd.ParseDecimal(n.String())
			if err != nil {
				return nil, err
			}
			return strconv.ParseInt(string(d), 10, 64)
		case float64:
			return int64(n), nil
		}
	case syncd.KindDouble, syncd.KindDecimal:
		switch n := v.(type) {
		case json.Number:
			return syncd.ParseDecimal(n.String())
		case float64:
			return syncd.ParseDecimal(strconv.FormatFloat(n, 'f', -1, 64))
		case string:
			return syncd.ParseDecimal(n)
		}
	case syncd.KindDate:
		if s, ok := v.(string); ok {
			d, err := syncd.ParseDate(s)
			if d == s {
				return v, nil // already canonical, as boxed: no copy
			}
			return d, err
		}
	case syncd.KindDateTime:
		if s, ok := v.(string); ok {
			return syncd.ParseDateTime(s)
		}
	default:
		if _, ok := v.(string); ok {
			return v, nil // as boxed: no copy
		}
	}
	return nil, fmt.Errorf("value %v (%T) does not fit a %s field", v, v, k)
}

// toWire converts a canonical value into what Salesforce JSON expects.
func toWire(k syncd.Kind, v syncd.Value) any {
	switch x := v.(type) {
	case syncd.Decimal:
		return json.Number(x)
	case string:
		if k == syncd.KindDateTime {
			// Salesforce accepts RFC 3339; keep milliseconds explicit as it renders them.
			if t, err := time.Parse(time.RFC3339Nano, x); err == nil {
				return t.UTC().Format("2006-01-02T15:04:05.000Z")
			}
		}
		return x
	}
	return v
}

// kinds maps field names to kinds, for records keyed by name.
func kinds(fields []syncd.Field) map[string]syncd.Kind {
	out := make(map[string]syncd.Kind, len(fields))
	for _, f := range fields {
		out[f.Name] = f.Kind
	}
	return out
}
