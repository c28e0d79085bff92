package main

import "context"

func (m *Main) status(ctx context.Context, args []string) error { return usageError{"status: not yet"} }
func (m *Main) conflicts(ctx context.Context, args []string) error {
	return usageError{"conflicts: not yet"}
}
func (m *Main) retry(ctx context.Context, args []string) error { return usageError{"retry: not yet"} }
