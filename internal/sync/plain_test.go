package sync

import (
	"reflect"
)

// plain is v with every *Fields in it (in structs, slices and maps)
// replaced by Fields of the same entries in no layout: reflect.DeepEqual
// then compares them by content, whatever layout each side was made in.
func plain[T any](v T) T {
	var out T
	reflect.ValueOf(&out).Elem().Set(plainValue(reflect.ValueOf(&v).Elem()))
	return out
}

func plainValue(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Pointer:
		if f, ok := v.Interface().(*Fields); ok {
			return reflect.ValueOf(FieldsOf(f.Map()))
		}
	case reflect.Struct:
		out := reflect.New(v.Type()).Elem()
		out.Set(v)
		for i := range v.NumField() {
			if out.Field(i).CanSet() {
				out.Field(i).Set(plainValue(v.Field(i)))
			}
		}
		return out
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			out.Index(i).Set(plainValue(v.Index(i)))
		}
		return out
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		out := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			out.SetMapIndex(it.Key(), plainValue(it.Value()))
		}
		return out
	}
	return v
}
