"""The composition root: builds each collaborator once per container, holds no policy."""
