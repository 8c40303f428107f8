/// SMS delivery: adapters that turn an SMS ``ChaparModels/DeliveryJob`` into a gateway request and
/// read the gateway's answer (Kannel `sendsms`, a generic JSON HTTP API).
public enum SMSGateways {}
