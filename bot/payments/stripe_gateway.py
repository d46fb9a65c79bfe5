"""Stripe through its official library: Checkout Sessions out, signed webhooks in."""

import stripe

from flows.payments import Price


class StripeGateway:
    def __init__(self, api_key: str, webhook_secret: str, api_base: str | None = None) -> None:
        self.webhook_secret = webhook_secret
        self.http = stripe.AIOHTTPClient()
        self.client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base} if api_base else {},
            http_client=self.http,
            max_network_retries=2,  # the library sends an idempotency key with every POST
        )

    async def checkout(
        self, *, payment_id: int, check: str, request_id: int, price: Price, name: str, return_url: str
    ) -> tuple[str, str]:
        session = await self.client.v1.checkout.sessions.create_async(
            {
                "mode": "payment",
                "client_reference_id": str(payment_id),
                "metadata": {"payment_id": str(payment_id), "check": check, "request_id": str(request_id)},
                "line_items": [
                    {
                        "quantity": 1,
                        "price_data": {
                            "currency": price.currency.lower(),
                            "unit_amount": price.amount,
                            "product_data": {"name": name},
                        },
                    }
                ],
                "success_url": return_url,
                "cancel_url": return_url,
            }
        )
        return session.id, session.url or ""

    def verify(self, payload: bytes, signature: str | None) -> stripe.Event:
        """The event, or ValueError / stripe.SignatureVerificationError (a forgery or a stale replay)."""
        return stripe.Webhook.construct_event(payload, signature, self.webhook_secret)

    async def close(self) -> None:
        await self.http.close_async()
