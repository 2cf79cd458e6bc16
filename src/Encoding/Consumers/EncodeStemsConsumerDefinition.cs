using MassTransit;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;

namespace MSaaS.Encoding.Consumers;

public sealed class EncodeStemsConsumerDefinition : ConsumerDefinition<EncodeStemsConsumer>
{
    public EncodeStemsConsumerDefinition()
    {
        // Each song already encodes its four stems in parallel.
        ConcurrentMessageLimit = 2;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<EncodeStemsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = 2;
        endpointConfigurator.UseMessageRetry(r =>
        {
            r.Ignore<AudioFormatException>();
            r.Ignore<EncodingException>();
            r.Ignore<OperationCanceledException>();
            r.Intervals(TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(30));
        });
    }
}
