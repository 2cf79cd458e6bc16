using MassTransit;
using MSaaS.Audio;
using MSaaS.Encoding;

namespace MSaaS.Separation.Consumers;

public sealed class SeparateStemsConsumerDefinition : ConsumerDefinition<SeparateStemsConsumer>
{
    public SeparateStemsConsumerDefinition()
    {
        // One song at a time: the model takes every core (or the GPU) it is given.
        ConcurrentMessageLimit = 1;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SeparateStemsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 1;
        endpointConfigurator.UseMessageRetry(r =>
        {
            // A bad song or a bad model fails the same way every time: straight to the fault, and to the saga.
            r.Ignore<AudioFormatException>();
            r.Ignore<SeparationException>();
            r.Ignore<EncodingException>();
            r.Ignore<OperationCanceledException>();
            r.Intervals(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
        });
    }
}
