using MassTransit;
using MassTransit.Configuration;
using MassTransit.Saga;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using MSaaS.Api.Persistence;

namespace MSaaS.Api.StateMachines;

public static class SongSagaRegistration
{
    /// <summary>Adds the song saga, stored in whatever <see cref="ISongStateStore"/> the host registered.</summary>
    public static IBusRegistrationConfigurator AddSongSaga(this IBusRegistrationConfigurator bus)
    {
        bus.TryAddSingleton(TimeProvider.System);
        bus.AddOptions<PipelineOptions>(); // hosts bind the "Pipeline" section
        bus.AddSagaStateMachine<SongStateMachine, SongState, SongStateDefinition>()
            .Repository(r =>
            {
                r.RegisterSagaRepository<SongState, ISongStateStore, SagaConsumeContextFactory<ISongStateStore, SongState>,
                    SongStateRepositoryContextFactory>();
                r.RegisterLoadSagaRepository<SongState, SongStateRepositoryContextFactory>();
            });
        return bus;
    }
}
