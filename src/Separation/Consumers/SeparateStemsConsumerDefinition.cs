using MassTransit;
using Microsoft.Extensions.Options;
using MSaaS.Audio;
using MSaaS.Audio.Mp3;

namespace MSaaS.Separation.Consumers;

public sealed class SeparateStemsConsumerDefinition : ConsumerDefinition<SeparateStemsConsumer>
{
    private readonly int _songsInParallel;

    public SeparateStemsConsumerDefinition(IOptions<SeparationEngineOptions> options)
    {
        // As many songs at a time as the engine has model instances (Separation:SongsInParallel, 1 by default): each
        // takes the cores it is given (or the GPU), and a song prefetched beyond them would wait here while another
        // worker could have taken it.
        _songsInParallel = options.Value.SongsInParallel;
        ConcurrentMessageLimit = _songsInParallel;
    }

    protected override void ConfigureConsumer(IReceiveEndpointConfigurator endpointConfigurator,
        IConsumerConfigurator<SeparateStemsConsumer> consumerConfigurator, IRegistrationContext context)
    {
        endpointConfigurator.PrefetchCount = _songsInParallel;
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
