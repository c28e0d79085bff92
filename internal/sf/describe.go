package sf

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	syncd "github.com/syncd-dev/syncd/internal/sync"
)

type describeEntry struct {
	schema    syncd.ObjectSchema
	validator string    // Last-Modified (or Date) of the response, for If-Modified-Since
	checked   time.Time // when Salesforce last confirmed it
}

// describeWire is the part of GET /sobjects/{O}/describe syncd reads
// ("sObject Describe", REST API Developer Guide).
type describeWire struct {
	Name string `json:"name"`
	// Replicateable: getUpdated and getDeleted serve the object ("getUpdated()",
	// SOAP API Developer Guide).
	Replicateable bool `json:"replicateable"`
	Fields        []struct {
		Name               string `json:"name"`
		Type               string `json:"type"`
		Createable         bool   `json:"createable"`
		Updateable         bool   `json:"updateable"`
		Nillable           bool   `json:"nillable"`
		ExternalID         bool   `json:"externalId"`
		Unique             bool   `json:"unique"`
		Calculated         bool   `json:"calculated"`
		Length             int    `json:"length"`
		RestrictedPicklist bool   `json:"restrictedPicklist"`
		PicklistValues     []struct {
			Active bool   `json:"active"`
			Value  string `json:"value"`
		} `json:"picklistValues"`
	} `json:"fields"`
}

// Describe returns an object's field metadata. It is cached per object and
// revalidated with If-Modified-Since; Salesforce answers 304 with no body
// when the object's metadata has not changed, which keeps the cache
// ("sObject Describe",
// developer.salesforce.com/docs/platform/api-rest/guide/resources-sobject-describe.html). With
// Config.DescribeMaxAge the cache is served without asking for that long,
// marked Cached.
func (c *Client) Describe(ctx context.Context, object string) (syncd.ObjectSchema, error) {
	return c.describe(ctx, object, false)
}

// Revalidate is Describe asking Salesforce whatever Config.DescribeMaxAge
// says: one conditional request, which a 304 answers when the cache still
// holds.
func (c *Client) Revalidate(ctx context.Context, object string) (syncd.ObjectSchema, error) {
	return c.describe(ctx, object, true)
}

func (c *Client) describe(ctx context.Context, object string, ask bool) (syncd.ObjectSchema, error) {
	if _, err := Ident(object); err != nil {
		return syncd.ObjectSchema{}, newAPIError(0, "INVALID_TYPE", err.Error(), nil)
	}
	key := strings.ToLower(object)
	c.mu.Lock()
	cached := c.describes[key]
	c.mu.Unlock()
	if !ask && cached != nil && c.cfg.DescribeMaxAge > 0 && time.Since(cached.checked) < c.cfg.DescribeMaxAge {
		s := cached.schema
		s.Cached = true
		return s, nil
	}
	r := request{method: http.MethodGet, path: "sobjects/" + url.PathEscape(object) + "/describe",
		object: object, retry: true, count: true}
	if cached != nil && cached.validator != "" {
		r.header = http.Header{"If-Modified-Since": {cached.validator}}
	}
	var fresh *describeEntry
	err := c.call(ctx, r, func(resp *http.Response) error {
		if resp.StatusCode == http.StatusNotModified {
			return nil
		}
		var w describeWire
		dec := json.NewDecoder(resp.Body)
		if err := dec.Decode(&w); err != nil {
			return err
		}
		validator := resp.Header.Get("Last-Modified")
		if validator == "" {
			validator = resp.Header.Get("Date")
		}
		fresh = &describeEntry{schema: schemaFrom(w, object), validator: validator}
		return nil
	})
	if err != nil {
		return syncd.ObjectSchema{}, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if fresh == nil { // 304
		if cached == nil {
			return syncd.ObjectSchema{}, errors.New("304 Not Modified without a cached describe")
		}
		cached.checked = time.Now()
		return cached.schema, nil
	}
	fresh.checked = time.Now()
	c.describes[key] = fresh
	return fresh.schema, nil
}

func schemaFrom(w describeWire, object string) syncd.ObjectSchema {
	s := syncd.ObjectSchema{Name: w.Name, Fields: make(map[string]syncd.FieldInfo, len(w.Fields)), Replicateable: w.Replicateable}
	if s.Name == "" {
		s.Name = object
	}
	for _, f := range w.Fields {
		fi := syncd.FieldInfo{
			Name: f.Name, Type: f.Type, Kind: KindOf(f.Type), Createable: f.Createable, Updateable: f.Updateable,
			Nillable: f.Nillable, ExternalID: f.ExternalID, Unique: f.Unique, Calculated: f.Calculated,
			Length: f.Length, RestrictedPicklist: f.RestrictedPicklist,
		}
		for _, p := range f.PicklistValues {
			if p.Active {
				fi.Picklist = append(fi.Picklist, p.Value)
			}
		}
		s.Fields[f.Name] = fi
	}
	return s
}
