using MassTransit;

namespace MSaaS.Saga;

/// <summary>The saga endpoint's policy.</summary>
public sealed class SongStateDefinition : SagaDefinition<SongState>
{
    protected override void ConfigureSaga(IReceiveEndpointConfigurator endpointConfigurator, ISagaConfigurator<SongState> sagaConfigurator,
        IRegistrationContext context)
    {
        // Two events for one song at once: the second save loses the version check and is tried again on the
        // fresh state, so no update is lost.
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Handle<ConcurrencyException>();
            r.Exponential(20, TimeSpan.FromMilliseconds(5), TimeSpan.FromMilliseconds(500), TimeSpan.FromMilliseconds(15));
        });
        // Commands the saga publishes leave only once its new state is stored.
        endpointConfigurator.UseInMemoryOutbox(context);
    }
}
