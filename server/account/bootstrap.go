package account

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"yunke/server/auth"
	"yunke/server/config"
	"yunke/storage"
)

// BootstrapStore is what the first start needs.
type BootstrapStore interface {
	CountUsers(ctx context.Context) (int, error)
	ListDistricts(ctx context.Context) ([]storage.District, error)
	CreateDistrict(ctx context.Context, a storage.Actor, code, name string) (storage.District, error)
	CreateUser(ctx context.Context, a storage.Actor, in storage.UserInput, passwordHash string, mustChange bool) (storage.User, error)
}

var _ BootstrapStore = (*storage.Store)(nil)

// BootstrapParams are what Bootstrap needs.
type BootstrapParams struct {
	Store  BootstrapStore
	Hasher Hasher
	Auth   config.AuthConfig
	Logger *slog.Logger
}

// Bootstrap creates the first district and the system administrator on
// an empty database. It returns the banner line about the administrator
// ("" when nothing was created).
func Bootstrap(ctx context.Context, p BootstrapParams) (string, error) {
	st := p.Store
	n, err := st.CountUsers(ctx)
	if err != nil {
		return "", fmt.Errorf("count users: %w", err)
	}
	if n > 0 {
		return "", nil
	}
	ds, err := st.ListDistricts(ctx)
	if err != nil {
		return "", fmt.Errorf("list districts: %w", err)
	}
	if len(ds) == 0 {
		if _, err := st.CreateDistrict(ctx, storage.Actor{}, "default", "默认区"); err != nil && !errors.Is(err, storage.ErrDuplicate) {
			return "", fmt.Errorf("create the default district: %w", err)
		}
	}
	name := p.Auth.AdminUsername
	pw, generated := p.Auth.AdminPassword, false
	if pw == "" {
		pw, generated = auth.GeneratePassword(20), true
	} else if msg := auth.CheckPassword(pw, name); msg != "" {
		return "", fmt.Errorf("auth.admin_password: %s", msg)
	}
	hash, err := p.Hasher.Hash(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("hash the administrator's password: %w", err)
	}
	_, err = st.CreateUser(ctx, storage.Actor{}, storage.UserInput{
		Username: name,
		Name:     "系统管理员",
		Roles:    []storage.Role{storage.RoleSystemAdmin},
		Active:   true,
	}, hash, generated)
	if errors.Is(err, storage.ErrDuplicate) {
		return "", nil // another instance on the same database was first
	}
	if err != nil {
		return "", fmt.Errorf("create the system administrator: %w", err)
	}
	p.Logger.Info("created the system administrator", "username", name, "generated_password", generated)
	if generated {
		return fmt.Sprintf("  Admin:       %s / %s (one-time: change it at first sign-in)\n", name, pw), nil
	}
	return fmt.Sprintf("  Admin:       %s (created with the configured password)\n", name), nil
}
