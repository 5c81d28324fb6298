package video

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/registry"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/jsonmessage"

	"github.com/ferry-video/ferry/plugins"
)

// pullProgressInterval is the minimum time between two pull progress events.
const pullProgressInterval = 10 * time.Second

// ensureImage pulls task.Image unless Docker has it and force_pull is unset,
// and reports whether it pulled.
func (d *Driver) ensureImage(ctx context.Context, docker *client.Client, cfg *plugins.TaskConfig, task *TaskConfig) (bool, error) {
	if !task.ForcePull {
		_, err := docker.ImageInspect(ctx, task.Image)
		if err == nil {
			return false, nil
		}
		if !client.IsErrNotFound(err) {
			return false, plugins.Recoverable(fmt.Errorf("inspect image %q: %w", task.Image, err))
		}
	}

	plugin, _ := d.state()
	pullCtx, cancel := context.WithTimeout(ctx, plugin.pullTimeout)
	defer cancel()

	d.publishEvent(cfg, fmt.Sprintf("Downloading image %s", task.Image))
	progress, err := d.pullImage(pullCtx, docker, cfg, task)
	if err != nil {
		if errors.Is(pullCtx.Err(), context.DeadlineExceeded) {
			err = fmt.Errorf("timed out after %s: %w", plugin.pullTimeout, err)
		}
		return false, plugins.Recoverable(fmt.Errorf("failed to pull image %q: %w: check the image name and tag, the registry address and the auth block", task.Image, err))
	}
	d.publishEvent(cfg, fmt.Sprintf("Downloaded image %s: %s", task.Image, progress))
	return true, nil
}

func (d *Driver) pullImage(ctx context.Context, docker *client.Client, cfg *plugins.TaskConfig, task *TaskConfig) (pullProgress, error) {
	opts := image.PullOptions{}
	if task.Auth != nil {
		auth, err := encodeAuth(task.Auth)
		if err != nil {
			return pullProgress{}, err
		}
		opts.RegistryAuth = auth
	}

	body, err := docker.ImagePull(ctx, task.Image, opts)
	if err != nil {
		return pullProgress{}, err
	}
	defer body.Close()
	return d.followPull(body, cfg, task.Image)
}

// followPull reads the pull's JSON progress stream, sends a progress event
// at most every pullProgressInterval and returns the final progress.
func (d *Driver) followPull(body io.Reader, cfg *plugins.TaskConfig, ref string) (pullProgress, error) {
	dec := json.NewDecoder(body)
	progress := pullProgress{layers: make(map[string]jsonmessage.JSONProgress)}
	lastEvent := d.clock.Now()
	for {
		var msg jsonmessage.JSONMessage
		if err := dec.Decode(&msg); err == io.EOF {
			return progress, nil
		} else if err != nil {
			return progress, fmt.Errorf("read pull progress: %w", err)
		}
		if msg.Error != nil {
			return progress, errors.New(msg.Error.Message)
		}
		progress.update(msg)

		if now := d.clock.Now(); now.Sub(lastEvent) >= pullProgressInterval {
			lastEvent = now
			d.publishEvent(cfg, fmt.Sprintf("Pulling image %s: %s", ref, progress))
		}
	}
}

// pullProgress is the download state of each layer of one pull.
type pullProgress struct {
	layers map[string]jsonmessage.JSONProgress
}

// update records a layer's progress from one pull message. A layer that
// Docker reports done without progress, such as one that already exists,
// counts with no bytes.
func (p pullProgress) update(msg jsonmessage.JSONMessage) {
	if msg.ID == "" || p.layers == nil {
		return
	}
	switch {
	case msg.Status == "Pulling fs layer", msg.Status == "Waiting":
		if _, ok := p.layers[msg.ID]; !ok {
			p.layers[msg.ID] = jsonmessage.JSONProgress{}
		}
	case msg.Status == "Downloading" && msg.Progress != nil:
		p.layers[msg.ID] = *msg.Progress
	case msg.Status == "Download complete", msg.Status == "Already exists", msg.Status == "Pull complete":
		layer := p.layers[msg.ID]
		layer.Current = layer.Total
		p.layers[msg.ID] = layer
	}
}

// String returns the layer count and the downloaded and total MiB.
func (p pullProgress) String() string {
	var current, total int64
	for _, layer := range p.layers {
		current += layer.Current
		total += layer.Total
	}
	return fmt.Sprintf("%d layers, %.1f of %.1f MiB downloaded", len(p.layers), float64(current)/(1<<20), float64(total)/(1<<20))
}

func encodeAuth(auth *AuthConfig) (string, error) {
	data, err := json.Marshal(registry.AuthConfig{
		Username:      auth.Username,
		Password:      auth.Password,
		ServerAddress: auth.ServerAddress,
	})
	if err != nil {
		return "", fmt.Errorf("encode registry auth: %w", err)
	}
	return base64.URLEncoding.EncodeToString(data), nil
}

func (d *Driver) publishEvent(cfg *plugins.TaskConfig, message string) {
	d.events.Publish(&plugins.TaskEvent{
		TaskID:    cfg.ID,
		AllocID:   cfg.AllocID,
		TaskName:  cfg.Name,
		Timestamp: d.clock.Now(),
		Message:   message,
	})
}

// imageCollector removes an image the driver pulled gc.image_delay after
// its task is destroyed, if no container uses it by then. Images that were
// already present, such as ones built on the node, are never removed,
// because a node without a registry could not get them back.
type imageCollector struct {
	driver *Driver
	mu     sync.Mutex
	// pending counts scheduled removals per image, so that a task that
	// starts again in the meantime keeps the image.
	pending map[string]int
}

func newImageCollector(d *Driver) *imageCollector {
	return &imageCollector{driver: d, pending: make(map[string]int)}
}

func (c *imageCollector) schedule(ref string) {
	plugin, docker := c.driver.state()
	if !*plugin.GC.Image || ref == "" {
		return
	}
	c.mu.Lock()
	c.pending[ref]++
	c.mu.Unlock()

	go func() {
		<-c.driver.clock.After(plugin.GC.imageDelay)
		c.mu.Lock()
		c.pending[ref]--
		if c.pending[ref] == 0 {
			delete(c.pending, ref)
		}
		c.mu.Unlock()
		c.removeIfUnused(docker, ref)
	}()
}

func (c *imageCollector) removeIfUnused(docker *client.Client, ref string) {
	ctx := context.Background()
	logger := c.driver.logger.With("image", ref)
	users, err := docker.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("ancestor", ref)),
	})
	if err != nil {
		logger.Warn("failed to list containers of image, keeping it", "error", err)
		return
	}
	if len(users) > 0 {
		return
	}
	if _, err := docker.ImageRemove(ctx, ref, image.RemoveOptions{PruneChildren: true}); err != nil && !client.IsErrNotFound(err) {
		logger.Warn("failed to remove unused image", "error", err)
		return
	}
	logger.Info("removed unused image")
}
