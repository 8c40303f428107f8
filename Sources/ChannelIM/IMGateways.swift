/// IM delivery: adapters for Matrix, the Telegram Bot API and signed generic webhooks.
public enum IMGateways {}
