"""Parts of lessons' checks too big to sit beside their exercises: the inputs a check makes and how it judges
what comes back."""
