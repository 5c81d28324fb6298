package plugins

import (
	"context"

	"github.com/hashicorp/go-hclog"

	basepb "github.com/ferry-video/ferry/plugins/proto/base"
)

// baseServer serves the BasePlugin service every Nomad plugin has.
type baseServer struct {
	basepb.UnimplementedBasePluginServer
	impl   Base
	logger hclog.Logger
}

func (s *baseServer) PluginInfo(context.Context, *basepb.PluginInfoRequest) (*basepb.PluginInfoResponse, error) {
	info := s.impl.Info()
	return &basepb.PluginInfoResponse{
		Type:              basepb.PluginType(info.Type),
		PluginApiVersions: []string{APIVersion},
		PluginVersion:     info.Version,
		Name:              info.Name,
	}, nil
}

func (s *baseServer) ConfigSchema(context.Context, *basepb.ConfigSchemaRequest) (*basepb.ConfigSchemaResponse, error) {
	return &basepb.ConfigSchemaResponse{Spec: specToProto(s.impl.ConfigSpec())}, nil
}

func (s *baseServer) SetConfig(_ context.Context, req *basepb.SetConfigRequest) (*basepb.SetConfigResponse, error) {
	var agent *AgentConfig
	if d := req.GetNomadConfig().GetDriver(); d != nil {
		agent = &AgentConfig{ClientMinPort: d.GetClientMinPort(), ClientMaxPort: d.GetClientMaxPort()}
	}

	if err := s.impl.SetConfig(req.GetMsgpackConfig(), agent); err != nil {
		s.logger.Error("failed to set config", "api_version", req.GetPluginApiVersion(), "error", err)
		return nil, err
	}
	s.logger.Debug("config set", "api_version", req.GetPluginApiVersion(), "agent_config", agent != nil)
	return &basepb.SetConfigResponse{}, nil
}
